"""A committed population and an active model for fault tests (transactional tests: the
worker processes must see the rows)."""

import uuid
from decimal import Decimal

from django.db import connection, transaction

from patients.models import Department, Patient, PatientFeatures
from predictions.models import ScoringRun
from predictions.scoring_runs import scoring_run_create, scoring_run_dispatch, scoring_run_plan
from tests.factories import PatientFactory, PatientFeaturesFactory


def population_create(count: int) -> list[int]:
    """`count` patients with varied features in two departments, in two bulk inserts."""
    departments = list(Department.objects.filter(department_code__in=["CARDIO", "NEPHRO"]))
    batch = uuid.uuid4().hex[:8]
    patients = Patient.objects.bulk_create(
        PatientFactory.build(
            external_id=f"FLT-{batch}-{i}",
            department=departments[i % 2],
            age=66 + i % 30,
            annual_cost=Decimal(5000 + 37 * i),
        )
        for i in range(count)
    )
    PatientFeatures.objects.bulk_create(
        PatientFeaturesFactory.build(
            patient=patient,
            has_chf=2 if i % 3 == 0 else 1,
            total_admissions_2008=Decimal(i % 5),
            days_since_last_admission=Decimal(30 + i % 300),
        )
        for i, patient in enumerate(patients)
    )
    return [patient.pk for patient in patients]


def toy_version_activate(toy_models, version: str = "v1.0") -> str:
    from predictions.model_store import model_cache_clear
    from predictions.services import model_version_activate, model_version_register

    model_cache_clear()
    model_version_register(
        version=version, models=toy_models.models, encoding=toy_models.encoding,
        changed_by="test",
    )  # fmt: skip
    model_version_activate(version=version, changed_by="test")
    return version


def run_planned(*, version: str = "v1.0", chunk_size: int) -> ScoringRun:
    run = scoring_run_create(version=version, changed_by="test", chunk_size=chunk_size)
    return scoring_run_plan(run_id=run.pk)


def run_dispatched(run: ScoringRun, *, copies: int) -> None:
    """Ask `copies` workers (through the suite's broker) to take part, as a scheduler does."""
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
