"""Render time of the workspace's heaviest pages at a given population size: the worklist
(with its per-patient explanations), a department report and the organisation summary.

Pages are rendered in-process with Django's test client as a logged-in user (no network),
each several times after one warm-up; the figure is the median."""

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.test import Client, override_settings
from django.urls import reverse

from finance.services import views_refresh
from patients.cohort import cohort_write
from patients.importer import patients_import
from patients.models import DataSource, Department
from predictions.scoring_runs import population_score, scoring_run_create
from predictions.services import model_version_activate, model_version_train
from riskplatform.core.roles import Role

ACTOR = "benchmark"


@dataclass(frozen=True)
class PageTiming:
    page: str
    median_ms: float
    worst_ms: float
    queries: int
    rows_shown: int


def pages_benchmark(*, patients: int, repeats: int, say=print) -> list[PageTiming]:
    from patients.services import user_role_assign

    workdir = Path(tempfile.mkdtemp(prefix="riskplatform-pages-"))
    files = cohort_write(out_dir=workdir, patients=patients, seed=7, training_patients=5000)
    say(f"Loading {patients:,} patients, training and scoring (not timed)…")
    model_version_train(version="v1.0", training_path=files.training, changed_by=ACTOR, seed=7)
    patients_import(path=files.x_test, source=DataSource.X_TEST, changed_by=ACTOR)
    population_score(run_id=scoring_run_create(version="v1.0", changed_by=ACTOR).pk)
    model_version_activate(version="v1.0", changed_by=ACTOR)
    views_refresh(changed_by=ACTOR)

    from django.contrib.auth.models import User

    department = Department.objects.annotate(size=Count("patients")).order_by("-size").first()
    User.objects.create_user("bench-coordinator")  # no password: the client logs in directly
    user_role_assign(
        username="bench-coordinator", role=Role.COORDINATOR,
        department_codes=[department.department_code], changed_by=ACTOR,
    )  # fmt: skip
    host = next((h for h in settings.ALLOWED_HOSTS if h not in ("*", "")), "localhost")
    client = Client(SERVER_NAME=host.lstrip("."))
    client.force_login(User.objects.get(username="bench-coordinator"))
    pages = {
        f"worklist ({department.department_code}, 90 days, 50 rows + explanations)": reverse(
            "worklist", args=[department.department_code, "90_day"]
        ),
        f"department report ({department.department_code})": reverse(
            "report-department", args=[department.department_code]
        ),
        "organisation summary": reverse("report-organisation"),
    }
    timings = []
    # Plain static storage: the pages render without a collectstatic run, as in tests.
    storages = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # fmt: skip
    with override_settings(STORAGES=storages):
        for name, url in pages.items():
            timings.append(_time_page(client, name, url, repeats))
            say(f"  {name}: {timings[-1].median_ms:.0f} ms")
    return timings


def _time_page(client: Client, name: str, url: str, repeats: int) -> PageTiming:
    from django.test.utils import CaptureQueriesContext

    response = client.get(url, secure=True)  # warm-up
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    seconds = []
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, secure=True)
            seconds.append(time.perf_counter() - started)
    rows = len(response.context.get("rows", []) or []) if response.context else 0
    return PageTiming(
        name, statistics.median(seconds) * 1000, max(seconds) * 1000, len(queries), rows
    )
