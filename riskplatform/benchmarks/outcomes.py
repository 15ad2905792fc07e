"""Closing the loop at scale: a past quarter simulated as the demo does (interventions and
admissions), then each step timed: judging every passed window, the idempotent re-run, the
realised ROI report and monitoring the model."""

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from patients.cohort import cohort_write
from patients.importer import patients_import
from patients.models import DataSource
from patients.services import user_role_assign
from predictions.monitoring_services import model_version_monitor
from predictions.outcomes import outcomes_evaluate
from predictions.scoring_runs import population_score, scoring_run_create
from predictions.services import model_version_activate, model_version_train
from riskplatform.benchmarks.pipeline import Step
from riskplatform.core.roles import Role
from riskplatform.demo import DEMO_PERIOD_DAYS
from riskplatform.demo_outcomes import demo_period_simulate

ACTOR = "benchmark"


def _timed(name: str, work: Callable[[], int]) -> Step:
    started = time.perf_counter()
    rows = work()
    return Step(name, rows, time.perf_counter() - started)


def outcomes_benchmark(*, patients: int, repeats: int, say=print) -> list[Step]:
    workdir = Path(tempfile.mkdtemp(prefix="riskplatform-outcomes-"))
    files = cohort_write(out_dir=workdir, patients=patients, seed=9, training_patients=5000)
    say(f"Loading {patients:,} patients, training, scoring {DEMO_PERIOD_DAYS} days ago…")
    model_version_train(version="v1.0", training_path=files.training, changed_by=ACTOR, seed=9)
    patients_import(path=files.x_test, source=DataSource.X_TEST, changed_by=ACTOR)
    scored_on = timezone.localdate() - timedelta(days=DEMO_PERIOD_DAYS)
    run = scoring_run_create(
        version="v1.0", changed_by=ACTOR,
        scored_as_of=datetime.combine(scored_on, clock(12), tzinfo=UTC),
    )  # fmt: skip
    population_score(run_id=run.pk)
    model_version_activate(version="v1.0", changed_by=ACTOR)

    steps = []

    def simulate() -> int:
        period = demo_period_simulate(version="v1.0", truth_path=files.truth,
                                      scored_on=scored_on, out_dir=workdir,
                                      changed_by=ACTOR, seed=9)  # fmt: skip
        say(f"  {period.interventions:,} interventions, {period.admissions_imported:,} "
            "admissions")  # fmt: skip
        return period.interventions + period.admissions_imported

    steps.append(_timed("simulate: interventions + admissions import", simulate))
    steps.append(_timed("judge every passed window, realise savings",
                        lambda: outcomes_evaluate(changed_by=ACTOR).written))  # fmt: skip
    steps.append(_timed("judge again (nothing changed)",
                        lambda: outcomes_evaluate(changed_by=ACTOR).written))  # fmt: skip
    steps.append(_report_render(repeats))
    steps.append(_timed("monitor v1.0 (observed metrics + drift)",
                        lambda: model_version_monitor(version="v1.0", changed_by=ACTOR)
                        .results["observed"]["outcomes"]))  # fmt: skip
    return steps


def _report_render(repeats: int) -> Step:
    User.objects.create_user("bench-finance")
    user_role_assign(username="bench-finance", role=Role.ANALYST, department_codes=[],
                     changed_by=ACTOR)  # fmt: skip
    host = next((h for h in settings.ALLOWED_HOSTS if h not in ("*", "")), "localhost")
    client = Client(SERVER_NAME=host.lstrip("."))
    client.force_login(User.objects.get(username="bench-finance"))
    url = reverse("report-realised") + "?department=all&window=90_day"
    storages = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # fmt: skip
    seconds = []
    with override_settings(STORAGES=storages):
        for _ in range(repeats + 1):
            started = time.perf_counter()
            response = client.get(url, secure=True)
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 200, response.status_code
    from finance.realised_selectors import realised_report
    from patients.models import Department

    total = realised_report(department_ids=list(Department.objects.values_list("pk", flat=True)),
                            window="90_day", model_version="v1.0").total.evaluated  # fmt: skip
    return Step(f"realised ROI report, all departments (median of {repeats})", total,
                statistics.median(seconds[1:]))  # fmt: skip
