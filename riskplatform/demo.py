"""The seed's Scenario 1 on demo data, from nothing to filled views, through the real paths:
generate a cohort file, import it, train and register v1.0, score, activate, refresh."""

import logging
from dataclasses import dataclass
from pathlib import Path

from finance.models import FinancialProjection
from finance.services import views_refresh
from patients.cohort import cohort_write
from patients.importer import patients_import
from patients.models import DataSource, Patient
from predictions.models import ModelVersion, Prediction
from predictions.scoring import population_score, scoring_run_create
from predictions.services import model_version_activate, model_version_train

logger = logging.getLogger(__name__)
DEMO_VERSION = "v1.0"


@dataclass(frozen=True)
class DemoCounts:
    patients: int
    predictions: int
    projections: int


def demo_counts() -> DemoCounts:
    return DemoCounts(
        Patient.objects.count(), Prediction.objects.count(), FinancialProjection.objects.count()
    )


def demo_is_loaded() -> bool:
    return Patient.objects.exists() or ModelVersion.objects.exists()


def demo_bootstrap(
    *,
    out_dir: Path,
    changed_by: str,
    patients: int = 3000,
    training_patients: int = 20000,
    seed: int = 42,
    progress=None,
) -> DemoCounts:
    """Each step is its own service with its own transaction; re-running after a failure
    picks up where it stopped (import and scoring are idempotent, training is skipped when
    the version exists)."""
    say = progress or logger.info
    files = cohort_write(
        out_dir=out_dir, patients=patients, seed=seed, training_patients=training_patients
    )
    say(f"Generated {files.x_test} and {files.training}")
    result = patients_import(path=files.x_test, source=DataSource.X_TEST, changed_by=changed_by)
    say(f"Imported {result.rows} patients ({result.created} new)")
    if not ModelVersion.objects.filter(version=DEMO_VERSION).exists():
        model_version_train(
            version=DEMO_VERSION, training_path=files.training, changed_by=changed_by, seed=seed
        )
        say(f"Trained and registered {DEMO_VERSION}")
    run = scoring_run_create(version=DEMO_VERSION, changed_by=changed_by)
    run = population_score(run_id=run.pk)
    say(f"Scored {run.patients_scored} patients under {DEMO_VERSION}")
    model_version_activate(version=DEMO_VERSION, changed_by=changed_by)
    views_refresh(changed_by=changed_by)
    counts = demo_counts()
    say(
        f"Demo loaded: {counts.patients} patients, {counts.predictions} predictions, "
        f"{counts.projections} projections"
    )
    return counts
