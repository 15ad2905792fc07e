"""A committed population and a registered model for fault tests and the drill (the worker
processes must see the rows: in a test, use a transactional test)."""

import uuid
from decimal import Decimal

from django.db import connection, transaction

from patients.models import DataSource, Department, Patient, PatientFeatures
from predictions.models import ScoringRun
from predictions.scoring_runs import scoring_run_create, scoring_run_dispatch, scoring_run_plan

BATCH = 5000  # rows per INSERT: 100,000 patients in a few dozen statements


def population_create(count: int, *, prefix: str = "FLT") -> list[int]:
    """`count` patients with varied features in two departments, inserted in bulk."""
    departments = list(Department.objects.filter(department_code__in=["CARDIO", "NEPHRO"]))
    batch = uuid.uuid4().hex[:8]
    ids: list[int] = []
    for start in range(0, count, BATCH):
        numbers = range(start, min(start + BATCH, count))
        patients = Patient.objects.bulk_create(_patient(f"{prefix}-{batch}-{i}", i, departments)
                                               for i in numbers)  # fmt: skip
        PatientFeatures.objects.bulk_create(
            _features(patient, i) for i, patient in zip(numbers, patients, strict=True)
        )
        ids += [patient.pk for patient in patients]
    return ids


def _patient(external_id: str, i: int, departments: list[Department]) -> Patient:
    return Patient(
        external_id=external_id, age=66 + i % 30, gender="F" if i % 2 else "M", race="White",
        department=departments[i % 2], data_source=DataSource.X_TEST,
        annual_cost=Decimal(5000 + 37 * i % 100_000), cost_percentile=Decimal("0.500"),
        created_by="drill",
    )  # fmt: skip


def _features(patient: Patient, i: int) -> PatientFeatures:
    conditions = dict.fromkeys(
        ("has_alzheimers", "has_ckd", "has_cancer", "has_copd", "has_depression",
         "has_ischemic_heart", "has_ra_oa", "has_stroke"), 1,
    )  # fmt: skip
    return PatientFeatures(
        patient=patient, is_elderly=True, **conditions, has_chf=2 if i % 3 == 0 else 1,
        has_diabetes=2, total_admissions_2008=Decimal(i % 5),
        total_hospital_days_2008=Decimal("4.00"), days_since_last_admission=Decimal(30 + i % 300),
        recent_admission=0, total_outpatient_visits_2008=Decimal("6.00"), high_outpatient_user=0,
        total_annual_cost=Decimal("12000.00"), cost_percentile=Decimal("0.500"), high_cost=0,
        total_inpatient_cost=Decimal("8000.00"), frailty_score=Decimal("0.2500"),
        complexity_index=Decimal("1.5000"),
    )  # fmt: skip


def version_register(trained, version: str, *, activate: bool = False) -> str:
    """Register `trained` (a TrainingOutcome: models and encoding) as `version`."""
    from predictions.model_store import model_cache_clear
    from predictions.services import model_version_activate, model_version_register

    model_cache_clear()
    model_version_register(
        version=version, models=trained.models, encoding=trained.encoding, changed_by="drill",
    )  # fmt: skip
    if activate:
        model_version_activate(version=version, changed_by="drill")
    return version


def toy_version_activate(toy_models, version: str = "v1.0") -> str:
    return version_register(toy_models, version, activate=True)


def run_planned(*, version: str = "v1.0", chunk_size: int) -> ScoringRun:
    run = scoring_run_create(version=version, changed_by="drill", chunk_size=chunk_size)
    return scoring_run_plan(run_id=run.pk)


def run_dispatched(run: ScoringRun, *, copies: int) -> None:
    """Ask `copies` workers (through the configured broker) to take part, as a scheduler does."""
    with transaction.atomic():
        scoring_run_dispatch(run_id=run.pk, copies=copies)


def chunk_holders(run_id: int) -> dict[str, int]:
    """Chunks written per Celery node (the holder's prefix before the pid)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT split_part(lease_holder, ':', 1), count(*) FROM scoring_chunks "
            "WHERE run_id = %s AND status = 'done' GROUP BY 1",
            [run_id],
        )
        return dict(cursor.fetchall())
