"""A small scored population whose every view row and query answer can be counted by hand.

Patients (annual cost) and their scores per version, windows 30 / 60 / 90 days:

    patient  department   annual     v1.0 (active)          v1.1 (candidate)
    A        Nephrology   150,000    .80 .85 .90  T5 T5 T5  .60 .80 .92  T4 T5 T5
    B        Nephrology    30,000    .55 .60 .70  T4 T4 T4  .78 .80 .85  T5 T5 T5
    C        Nephrology    10,000    .15 .20 .30  T2 T2 T3  .15 .22 .28  T2 T2 T3
    D        Cardiology   100,000    .76 .78 .82  T5 T5 T5  .50 .55 .60  T4 T4 T4
    E        Nephrology    80,000    .95 .95 .95  T5 T5 T5  (inactive patient: never counted)

A also has a superseded v1.0 30-day prediction (.30, T3) from before a re-score.
Every prediction has a projection from the default policy of its window and tier, with
success_rate_actual = the policy's minimum.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from finance.models import InterventionPolicy
from patients.models import Department
from tests.factories import (
    FinancialProjectionFactory,
    ModelVersionFactory,
    PatientFactory,
    PredictionFactory,
)

WINDOWS = ("30_day", "60_day", "90_day")
SCORES = {
    "A": ("NEPHRO", "150000.00", {"v1.0": (".80", ".85", ".90"), "v1.1": (".60", ".80", ".92")}),
    "B": ("NEPHRO", "30000.00", {"v1.0": (".55", ".60", ".70"), "v1.1": (".78", ".80", ".85")}),
    "C": ("NEPHRO", "10000.00", {"v1.0": (".15", ".20", ".30"), "v1.1": (".15", ".22", ".28")}),
    "D": ("CARDIO", "100000.00", {"v1.0": (".76", ".78", ".82"), "v1.1": (".50", ".55", ".60")}),
    "E": ("NEPHRO", "80000.00", {"v1.0": (".95", ".95", ".95")}),
}


@dataclass
class ScoredPopulation:
    patients: dict
    active: object
    candidate: object


def _predict(patient, version, window, score, policies, **extra):
    prediction = PredictionFactory(
        patient=patient,
        model_version=version,
        prediction_window=window,
        risk_score=Decimal(score),
        **extra,
    )
    policy = policies[(window, prediction.risk_tier)]
    FinancialProjectionFactory(
        prediction=prediction,
        intervention_cost=policy.intervention_cost,
        success_rate_min=policy.success_rate_min,
        success_rate_max=policy.success_rate_max,
        success_rate_actual=policy.success_rate_min,
    )
    return prediction


def build_scored_population() -> ScoredPopulation:
    versions = {
        "v1.0": ModelVersionFactory(version="v1.0", status="active"),
        "v1.1": ModelVersionFactory(version="v1.1", status="candidate"),
    }
    policies = {(p.prediction_window, p.risk_tier): p for p in InterventionPolicy.objects.all()}
    patients = {}
    for name, (code, annual_cost, scores) in SCORES.items():
        patient = PatientFactory(
            external_id=f"SCENARIO-{name}",
            department=Department.objects.get(department_code=code),
            annual_cost=Decimal(annual_cost),
            is_active=name != "E",
        )
        patients[name] = patient
        for version, by_window in scores.items():
            for window, score in zip(WINDOWS, by_window, strict=True):
                _predict(patient, versions[version], window, score, policies)
    _predict(
        patients["A"],
        versions["v1.0"],
        "30_day",
        ".30",
        policies,
        superseded_at=timezone.now(),
    )
    return ScoredPopulation(patients, versions["v1.0"], versions["v1.1"])


def quarter_played(*, files, trained, out_dir, seed: int) -> dict:
    """The demo's simulated quarter on a generated cohort (`cohort_write` files) with window
    models trained on it: patients imported, v1.0 registered, then `demo_quarter_play`.
    Returns the play's arguments, so a test can play it again."""
    from patients.importer import patients_import
    from patients.models import DataSource
    from predictions.model_store import model_cache_clear
    from predictions.services import model_version_register
    from riskplatform.demo import demo_quarter_play

    model_cache_clear()
    patients_import(path=files.x_test, source=DataSource.X_TEST, changed_by="test")
    model_version_register(
        version="v1.0", models=trained.models, encoding=trained.encoding,
        metrics=trained.metrics, changed_by="test",
    )  # fmt: skip
    play = {"version": "v1.0", "truth_path": files.truth, "out_dir": out_dir,
            "changed_by": "demo", "seed": seed, "say": lambda message: None}  # fmt: skip
    demo_quarter_play(**play)
    return play
