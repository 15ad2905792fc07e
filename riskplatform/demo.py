"""The seed's Scenario 1 on demo data, from nothing to filled views, through the real paths:
generate a cohort file, import it, register the training file as a snapshot, train and
register v1.0 on it, score, activate, refresh; then a simulated past quarter
(riskplatform/demo_outcomes.py) so that realised ROI and model monitoring have outcomes to
show."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from django.utils import timezone

from finance.models import FinancialProjection, Intervention
from finance.services import views_refresh
from patients.cohort import cohort_write
from patients.importer import patients_import
from patients.models import DataSource, Patient
from predictions.models import ModelVersion, Prediction
from predictions.monitoring_services import model_version_monitor
from predictions.outcomes import outcomes_evaluate
from predictions.scoring_runs import population_score, scoring_run_create
from predictions.services import (
    model_version_activate,
    model_version_train,
    training_snapshot_register,
)
from riskplatform.demo_outcomes import demo_period_simulate

logger = logging.getLogger(__name__)
DEMO_VERSION = "v1.0"
# The simulated quarter: scored this many days ago, so all three windows have passed.
DEMO_PERIOD_DAYS = 120


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
    picks up where it stopped (import, snapshot registration and scoring are idempotent,
    training is skipped when the version exists)."""
    say = progress or logger.info
    files = cohort_write(
        out_dir=out_dir, patients=patients, seed=seed, training_patients=training_patients
    )
    say(f"Generated {files.x_test} and {files.training}")
    result = patients_import(path=files.x_test, source=DataSource.X_TEST, changed_by=changed_by)
    say(f"Imported {result.rows} patients ({result.created} new)")
    # In PostgreSQL, so that re-evaluation on any worker host trains on it (no file needed).
    snapshot = training_snapshot_register(
        path=files.training, label=f"demo training sample (seed {seed})", changed_by=changed_by
    )
    say(f"Registered {files.training.name} as training snapshot {snapshot.pk}")
    if not ModelVersion.objects.filter(version=DEMO_VERSION).exists():
        model_version_train(
            version=DEMO_VERSION, snapshot=snapshot, changed_by=changed_by, seed=seed
        )
        say(f"Trained and registered {DEMO_VERSION}")
    demo_quarter_play(
        version=DEMO_VERSION, truth_path=files.truth, out_dir=out_dir,
        changed_by=changed_by, seed=seed, say=say,
    )  # fmt: skip
    views_refresh(changed_by=changed_by)
    counts = demo_counts()
    say(
        f"Demo loaded: {counts.patients} patients, {counts.predictions} predictions, "
        f"{counts.projections} projections"
    )
    return counts


def demo_quarter_play(
    *, version: str, truth_path: Path, out_dir: Path, changed_by: str, seed: int, say
) -> None:
    """Score `version` as of DEMO_PERIOD_DAYS ago and make it active, simulate the quarter
    since (interventions, admissions), judge the passed windows, score everyone again today
    and run the model monitor. Each step is skipped or idempotent on a re-run."""
    scored_on = timezone.localdate() - timedelta(days=DEMO_PERIOD_DAYS)
    if not Prediction.objects.filter(model_version=version).exists():
        run = scoring_run_create(
            version=version,
            changed_by=changed_by,
            scored_as_of=datetime.combine(scored_on, time(12), tzinfo=UTC),
        )
        run = population_score(run_id=run.pk)
        say(f"Scored {run.patients_scored} patients under {version} as of {scored_on}")
    model_version_activate(version=version, changed_by=changed_by)
    if not Intervention.objects.exists():
        period = demo_period_simulate(
            version=version, truth_path=truth_path, scored_on=scored_on,
            out_dir=out_dir, changed_by=changed_by, seed=seed,
        )  # fmt: skip
        say(
            f"Simulated the quarter from {scored_on}: {period.interventions} interventions "
            f"({period.done} done), {period.admissions_imported} admissions imported, "
            f"{period.admissions_avoided} avoided"
        )
    outcomes = outcomes_evaluate(changed_by=changed_by)
    say(f"Judged {outcomes.written} predictions against admissions ({outcomes.admitted} admitted)")
    run = scoring_run_create(version=version, changed_by=changed_by)
    run = population_score(run_id=run.pk)
    say(f"Scored {run.patients_scored} patients under {version} today")
    monitoring = model_version_monitor(version=version, changed_by=changed_by)
    say(f"Monitored {version}: {len(monitoring.warnings)} warning(s)")
