from decimal import Decimal

from django.contrib.postgres.functions import RandomUUID
from django.db import models
from django.db.models import Case, CheckConstraint, F, Q, Value, When
from django.db.models.functions import Now, Round
from django.db.models.lookups import GreaterThanOrEqual
from simple_history.models import HistoricalRecords

from patients.models import Patient
from predictions.models import Prediction
from riskplatform.core.constraints import at_least, between, one_of
from riskplatform.core.windows import DAYS_IN_WINDOW, PredictionWindow, RiskTier

DEFAULT_ADDRESSABLE_COST_PCT = Decimal("0.600")


def _rate_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=5, decimal_places=3, **kwargs)


def _money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=10, decimal_places=2, **kwargs)


def _success_rate_constraints(prefix: str) -> list[CheckConstraint]:
    return [
        between("success_rate_min", 0, 1, name=f"{prefix}_success_min_0_1"),
        between("success_rate_max", 0, 1, name=f"{prefix}_success_max_0_1"),
        CheckConstraint(
            condition=Q(success_rate_min__lte=F("success_rate_max"))
            | Q(success_rate_min__isnull=True)
            | Q(success_rate_max__isnull=True),
            name=f"{prefix}_success_min_le_max",
        ),
        between("addressable_cost_pct", 0, 1, name=f"{prefix}_addressable_pct_0_1", nullable=False),
        at_least(
            "intervention_cost", 0, name=f"{prefix}_intervention_cost_non_negative", nullable=False
        ),
        between("risk_tier", 1, 5, name=f"{prefix}_risk_tier_1_5", nullable=False),
    ]


class InterventionPolicy(models.Model):
    """What an intervention costs and how often it works, per window and tier."""

    policy_id = models.AutoField(primary_key=True)
    prediction_window = models.CharField(max_length=10, choices=PredictionWindow.choices)
    risk_tier = models.SmallIntegerField(choices=RiskTier.choices)
    intervention_cost = _money_field()
    success_rate_min = _rate_field()
    success_rate_max = _rate_field()
    addressable_cost_pct = _rate_field(
        default=DEFAULT_ADDRESSABLE_COST_PCT, db_default=DEFAULT_ADDRESSABLE_COST_PCT
    )
    description = models.CharField(max_length=200, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        db_table = "intervention_policies"
        ordering = ["prediction_window", "risk_tier"]
        verbose_name_plural = "intervention policies"
        constraints = [
            models.UniqueConstraint(
                fields=["prediction_window", "risk_tier"], name="intervention_policy_window_tier"
            ),
            one_of(
                "prediction_window",
                PredictionWindow.values,
                name="policy_window_valid",
                nullable=False,
            ),
            *_success_rate_constraints("policy"),
        ]

    def __str__(self) -> str:
        return f"{self.prediction_window} tier {self.risk_tier}"


# Generated columns. PostgreSQL forbids a generated column from referring to another one, so
# each is written in base columns only. Multiplying before dividing by 365 keeps precision;
# money is rounded to the cent once, and net benefit and ROI use that same rounded savings so
# that net_benefit = expected_savings - intervention_cost holds to the cent.
_COST_DAYS = F("annual_cost") * F("days_in_window")
_DAYS_PER_YEAR = Value(365)
_EXPECTED_SAVINGS = Round(
    _COST_DAYS * F("addressable_cost_pct") * F("success_rate_actual") / _DAYS_PER_YEAR, 2
)
_ROI = Round((_EXPECTED_SAVINGS - F("intervention_cost")) * Value(100) / F("intervention_cost"), 2)
_MONEY = models.DecimalField(max_digits=10, decimal_places=2)


def _generated_money(expression) -> models.GeneratedField:
    return models.GeneratedField(expression=expression, output_field=_MONEY, db_persist=True)


class RoiCategory(models.TextChoices):
    HIGHLY_POSITIVE = "HIGHLY_POSITIVE"
    POSITIVE = "POSITIVE"
    BREAKEVEN = "BREAKEVEN"
    NEGATIVE = "NEGATIVE"
    NOT_APPLICABLE = "NOT_APPLICABLE", "Not applicable (no intervention)"


def _days_match_window() -> CheckConstraint:
    condition = Q()
    for window, days in DAYS_IN_WINDOW.items():
        condition |= Q(projection_window=window, days_in_window=days)
    return CheckConstraint(condition=condition, name="projection_days_match_window")


class FinancialProjection(models.Model):
    """Projected cost, savings and ROI of intervening on one prediction."""

    projection_id = models.BigAutoField(primary_key=True)
    patient = models.ForeignKey(
        Patient,
        on_delete=models.CASCADE,
        db_column="patient_id",
        related_name="projections",
        db_index=False,
    )
    prediction = models.OneToOneField(
        Prediction, on_delete=models.CASCADE, db_column="prediction_id", related_name="projection"
    )
    projection_window = models.CharField(max_length=10, choices=PredictionWindow.choices)
    days_in_window = models.IntegerField()
    projected_date = models.DateField(null=True, blank=True)

    annual_cost = _money_field()
    daily_cost = models.GeneratedField(
        expression=Round(F("annual_cost") / _DAYS_PER_YEAR, 2),
        output_field=models.DecimalField(max_digits=8, decimal_places=2),
        db_persist=True,
    )
    window_cost = _generated_money(Round(_COST_DAYS / _DAYS_PER_YEAR, 2))
    addressable_cost_pct = _rate_field(
        default=DEFAULT_ADDRESSABLE_COST_PCT, db_default=DEFAULT_ADDRESSABLE_COST_PCT
    )
    addressable_cost = _generated_money(
        Round(_COST_DAYS * F("addressable_cost_pct") / _DAYS_PER_YEAR, 2)
    )

    risk_tier = models.SmallIntegerField(choices=RiskTier.choices)
    intervention_cost = _money_field()

    success_rate_min = _rate_field(null=True, blank=True)
    success_rate_max = _rate_field(null=True, blank=True)
    success_rate_actual = _rate_field()

    expected_savings = _generated_money(_EXPECTED_SAVINGS)
    # Filled once the prediction's window has passed, by the rule named in
    # savings_rule_version (finance/realisation.py; docs/monitoring.md).
    actual_savings = _money_field(null=True, blank=True)
    savings_rule_version = models.CharField(max_length=20, null=True, blank=True)
    savings_realised_at = models.DateTimeField(null=True, blank=True)
    net_benefit = _generated_money(_EXPECTED_SAVINGS - F("intervention_cost"))
    # Undefined (NULL) when nothing is spent: a $0 "intervention" has no return on investment.
    roi_percentage = models.GeneratedField(
        expression=Case(When(intervention_cost__gt=0, then=_ROI), default=None),
        output_field=models.DecimalField(max_digits=12, decimal_places=2),
        db_persist=True,
    )
    roi_category = models.GeneratedField(
        expression=Case(
            When(intervention_cost__lte=0, then=Value(RoiCategory.NOT_APPLICABLE.value)),
            When(GreaterThanOrEqual(_ROI, 50), then=Value(RoiCategory.HIGHLY_POSITIVE.value)),
            When(GreaterThanOrEqual(_ROI, 0), then=Value(RoiCategory.POSITIVE.value)),
            When(GreaterThanOrEqual(_ROI, -25), then=Value(RoiCategory.BREAKEVEN.value)),
            default=Value(RoiCategory.NEGATIVE.value),
        ),
        output_field=models.CharField(max_length=20, choices=RoiCategory.choices),
        db_persist=True,
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "financial_projections"
        ordering = ["-created_at", "-projection_id"]
        indexes = [
            models.Index(fields=["patient", "projection_window"], name="idx_proj_patient_window"),
            models.Index(fields=["roi_category"], name="idx_proj_roi_category"),
        ]
        constraints = [
            one_of(
                "projection_window",
                PredictionWindow.values,
                name="projection_window_valid",
                nullable=False,
            ),
            _days_match_window(),
            at_least("annual_cost", 0, name="projection_annual_cost_non_negative", nullable=False),
            *_success_rate_constraints("projection"),
            between(
                "success_rate_actual", 0, 1, name="projection_success_actual_0_1", nullable=False
            ),
            CheckConstraint(
                condition=Q(success_rate_actual__gte=F("success_rate_min"))
                | Q(success_rate_min__isnull=True),
                name="projection_success_actual_ge_min",
            ),
            CheckConstraint(
                condition=Q(success_rate_actual__lte=F("success_rate_max"))
                | Q(success_rate_max__isnull=True),
                name="projection_success_actual_le_max",
            ),
            at_least("actual_savings", 0, name="projection_actual_savings_non_negative"),
            CheckConstraint(
                condition=Q(actual_savings__isnull=True, savings_rule_version__isnull=True)
                | Q(actual_savings__isnull=False, savings_rule_version__isnull=False),
                name="projection_actual_savings_has_rule",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.projection_window} projection {self.projection_id}"


class InterventionType(models.TextChoices):
    CARE_MANAGER_CALL = "CARE_MANAGER_CALL", "Care-manager call"
    HOME_VISIT = "HOME_VISIT", "Home visit"
    MEDICATION_REVIEW = "MEDICATION_REVIEW", "Medication review"
    PROGRAMME_ENROLMENT = "PROGRAMME_ENROLMENT", "Enrolment in a programme"


class InterventionStatus(models.TextChoices):
    PLANNED = "PLANNED", "Planned"
    DONE = "DONE", "Done"
    DECLINED = "DECLINED", "Declined by the patient"
    UNREACHABLE = "UNREACHABLE", "Patient unreachable"


class Intervention(models.Model):
    """What a care coordinator did (or planned) for one patient. `prediction` is the score
    that prompted it, when it came from a worklist or a patient page."""

    intervention_id = models.BigAutoField(primary_key=True)
    intervention_uuid = models.UUIDField(unique=True, db_default=RandomUUID(), editable=False)
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, db_column="patient_id", related_name="interventions"
    )
    prediction = models.ForeignKey(
        Prediction,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_column="prediction_id",
        related_name="interventions",
    )
    intervention_type = models.CharField(max_length=30, choices=InterventionType.choices)
    status = models.CharField(max_length=20, choices=InterventionStatus.choices)
    intervention_date = models.DateField()
    cost_spent = _money_field(null=True, blank=True)
    notes = models.TextField(blank=True, default="")
    recorded_by = models.CharField(max_length=50)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        db_table = "interventions"
        ordering = ["-intervention_date", "-intervention_id"]
        indexes = [
            models.Index(fields=["patient", "intervention_date"], name="idx_interv_patient_date")
        ]
        constraints = [
            one_of(
                "intervention_type",
                InterventionType.values,
                name="interventions_type_valid",
                nullable=False,
            ),
            one_of(
                "status",
                InterventionStatus.values,
                name="interventions_status_valid",
                nullable=False,
            ),
            at_least("cost_spent", 0, name="interventions_cost_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.get_intervention_type_display()} ({self.get_status_display()})"


from finance.matviews import RoiPositivePatient, RoiTierSummary  # noqa: E402

__all__ = [
    "FinancialProjection",
    "Intervention",
    "InterventionPolicy",
    "InterventionStatus",
    "InterventionType",
    "RoiCategory",
    "RoiPositivePatient",
    "RoiTierSummary",
]
