import hashlib
from decimal import Decimal

import factory

from finance.models import FinancialProjection
from patients.models import DataSource, Department, Patient, PatientFeatures
from predictions.models import ModelStatus, ModelVersion, Prediction, TrainingSnapshot
from predictions.training import LABELS, training_data_encode, training_fingerprint
from riskplatform.core.windows import DAYS_IN_WINDOW, TIER_LABELS
from tests.predictions.toy_data import toy_training_frame

DEFAULT_THRESHOLDS = {"mode": "fixed", **{w: [0.10, 0.25, 0.50, 0.75] for w in DAYS_IN_WINDOW}}


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    department_name = factory.Sequence(lambda n: f"Test Department {n}")
    department_code = factory.Sequence(lambda n: f"TD{n}")


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    external_id = factory.Sequence(lambda n: f"EXT-{n:06d}")
    age = 72
    gender = "F"
    race = "White"
    department = factory.SubFactory(DepartmentFactory)
    data_source = DataSource.X_TEST
    annual_cost = Decimal("12000.00")
    cost_percentile = Decimal("0.500")
    created_by = "test"


class PatientFeaturesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PatientFeatures

    patient = factory.SubFactory(PatientFactory)
    is_elderly = True
    has_alzheimers = 1
    has_chf = 1
    has_ckd = 1
    has_cancer = 1
    has_copd = 1
    has_depression = 1
    has_diabetes = 2
    has_ischemic_heart = 1
    has_ra_oa = 1
    has_stroke = 1
    total_admissions_2008 = Decimal("1.00")
    total_hospital_days_2008 = Decimal("4.00")
    days_since_last_admission = Decimal("120.00")
    recent_admission = 0
    total_outpatient_visits_2008 = Decimal("6.00")
    high_outpatient_user = 0
    total_annual_cost = Decimal("12000.00")
    cost_percentile = Decimal("0.500")
    high_cost = 0
    total_inpatient_cost = Decimal("8000.00")
    frailty_score = Decimal("0.2500")
    complexity_index = Decimal("1.5000")


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVersion
        django_get_or_create = ("version",)

    version = factory.Sequence(lambda n: f"t{n}.0")
    status = ModelStatus.CANDIDATE
    created_by = "test"
    tier_thresholds = DEFAULT_THRESHOLDS
    artifact = factory.LazyAttribute(lambda o: f"artifact of {o.version}".encode())
    artifact_sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.artifact).hexdigest())


class TrainingSnapshotFactory(factory.django.DjangoModelFactory):
    """A toy frame stored as a snapshot directly (the service is tested on its own)."""

    class Meta:
        model = TrainingSnapshot

    class Params:
        frame = factory.LazyFunction(lambda: toy_training_frame(n=200))

    label = factory.Sequence(lambda n: f"toy snapshot {n}")
    fingerprint = factory.LazyAttribute(lambda o: training_fingerprint(o.frame))
    row_count = factory.LazyAttribute(lambda o: len(o.frame))
    columns = factory.LazyAttribute(lambda o: list(o.frame.columns))
    content = factory.LazyAttribute(lambda o: training_data_encode(frame=o.frame, name=o.label)[1])
    prevalence = factory.LazyAttribute(
        lambda o: {w: round(float(o.frame[c].mean()), 4) for w, c in LABELS.items()}
    )
    created_by = "test"


def tier_for(score: Decimal) -> int:
    return 1 + sum(score >= Decimal(str(t)) for t in (0.10, 0.25, 0.50, 0.75))


class PredictionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prediction

    patient = factory.SubFactory(PatientFactory)
    prediction_window = "30_day"
    model_version = factory.SubFactory(ModelVersionFactory)
    risk_score = Decimal("0.3000")
    risk_tier = factory.LazyAttribute(lambda o: tier_for(Decimal(o.risk_score)))
    tier_label = factory.LazyAttribute(lambda o: TIER_LABELS[o.risk_tier])
    created_by = "test"


class FinancialProjectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FinancialProjection

    prediction = factory.SubFactory(PredictionFactory)
    patient = factory.LazyAttribute(lambda o: o.prediction.patient)
    projection_window = factory.LazyAttribute(lambda o: o.prediction.prediction_window)
    days_in_window = factory.LazyAttribute(lambda o: DAYS_IN_WINDOW[o.projection_window])
    annual_cost = factory.LazyAttribute(lambda o: o.patient.annual_cost)
    risk_tier = factory.LazyAttribute(lambda o: o.prediction.risk_tier)
    intervention_cost = Decimal("600.00")
    success_rate_min = Decimal("0.200")
    success_rate_max = Decimal("0.350")
    success_rate_actual = Decimal("0.300")


def user_with_role(username: str, role, departments: tuple[str, ...] = ()):
    """A user holding `role` (riskplatform.core.roles.Role), assigned as the service does."""
    from django.contrib.auth.models import User

    from patients.services import user_role_assign

    User.objects.create_user(username=username, password="a-long-test-passphrase-0042")
    user_role_assign(
        username=username, role=role, department_codes=list(departments), changed_by="test"
    )
    return User.objects.get(username=username)
