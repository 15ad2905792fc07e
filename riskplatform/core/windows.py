"""Prediction windows and risk tiers: the vocabulary every app shares."""

from django.db import models


class PredictionWindow(models.TextChoices):
    DAYS_30 = "30_day", "30 days"
    DAYS_60 = "60_day", "60 days"
    DAYS_90 = "90_day", "90 days"


# Plain strings, not enum members: these keys end up in JSON, SQL and model artifacts.
DAYS_IN_WINDOW: dict[str, int] = {
    PredictionWindow.DAYS_30.value: 30,
    PredictionWindow.DAYS_60.value: 60,
    PredictionWindow.DAYS_90.value: 90,
}


class RiskTier(models.IntegerChoices):
    NORMAL = 1, "Normal"
    LOW = 2, "Low Risk"
    MODERATE = 3, "Moderate"
    HIGH = 4, "High Risk"
    CRITICAL = 5, "Critical"


TIER_LABELS: dict[int, str] = {tier.value: tier.label for tier in RiskTier}


def window_days_sql_pairs() -> str:
    """`('30_day', 30), ...` for SQL VALUES lists and CHECK constraints."""
    return ", ".join(f"('{window}', {days})" for window, days in DAYS_IN_WINDOW.items())


def tier_labels_sql_pairs() -> str:
    """`(1, 'Normal'), ...` for SQL VALUES lists."""
    return ", ".join(f"({tier}, '{label}')" for tier, label in TIER_LABELS.items())
