"""Outcomes and evaluated projections built by hand (the outcome service is tested apart):
a prediction dated on day d with its projection, and the outcome of its window
d + 1 .. d + N."""

import datetime as dt
from decimal import Decimal

import factory

from predictions.models import PredictionOutcome
from riskplatform.core.windows import DAYS_IN_WINDOW
from tests.factories import FinancialProjectionFactory, PredictionFactory


class PredictionOutcomeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PredictionOutcome

    prediction = factory.SubFactory(PredictionFactory)
    window_start = factory.LazyAttribute(
        lambda o: o.prediction.prediction_timestamp.date() + dt.timedelta(days=1)
    )
    window_end = factory.LazyAttribute(
        lambda o: (
            o.prediction.prediction_timestamp.date()
            + dt.timedelta(days=DAYS_IN_WINDOW[o.prediction.prediction_window])
        )
    )
    admitted = False
    first_admission_date = factory.LazyAttribute(lambda o: o.window_start if o.admitted else None)
    rule_version = "window-v1"


def at_noon(day: dt.date) -> dt.datetime:
    # Noon UTC: the same calendar day in the database session's time zone (UTC in tests).
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


def evaluated_projection(
    *,
    patient,
    version,
    day: dt.date,
    window: str = "30_day",
    score: str = "0.8000",
    admitted: bool = False,
    intervention_cost: Decimal = Decimal("600.00"),
    superseded_at: dt.datetime | None = None,
):
    """A prediction made on `day` for `patient`, its projection and its outcome."""
    prediction = PredictionFactory(
        patient=patient,
        model_version=version,
        prediction_window=window,
        risk_score=Decimal(score),
        prediction_timestamp=at_noon(day),
        superseded_at=superseded_at,
    )
    projection = FinancialProjectionFactory(
        prediction=prediction, intervention_cost=intervention_cost
    )
    PredictionOutcomeFactory(prediction=prediction, admitted=admitted)
    return projection
