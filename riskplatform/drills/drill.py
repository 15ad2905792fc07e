"""The fault drill's stage, inside its sandbox (riskplatform/drills/sandbox.py): its own
PostgreSQL and Redis, a migrated database, a trained model, a population, and the worker and
beat processes every fault starts; the recovery settings; the table of results."""

import contextlib
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection

from riskplatform.drills.postgres import PrivatePostgres, wait_until
from riskplatform.drills.processes import CeleryProcess, CeleryWorker, celery_beat, celery_worker
from riskplatform.drills.sandbox import POSTGRES_PORT, REDIS_PORT, drill_folder
from riskplatform.drills.servers import PrivateRedis

LEASE = 5  # seconds: the drill's workers hold leases this long (production: 60)
# What the drill's worker and beat processes run with: short leases and backoffs, so that
# every fault is recovered in seconds rather than minutes. Printed with the defaults.
WORKER_ENV = {
    "SCORING_LEASE_SECONDS": str(LEASE),
    "SCORING_RETRY_BACKOFF_SECONDS": "1",
    "TASK_RETRY_BACKOFF_MAX_SECONDS": "5",
    "SCORING_REDISPATCH_SECONDS": "5",
    "SCORING_TASK_BUDGET_SECONDS": "300",
    "OMP_NUM_THREADS": "1",
}
SWEEP_EVERY = 2  # seconds between the drill beat's sweeps (production: 30)
RECOVERY_SETTINGS = (
    "SCORING_LEASE_SECONDS", "SCORING_CHUNK_MAX_ATTEMPTS", "SCORING_RETRY_BACKOFF_SECONDS",
    "SCORING_RETRY_BACKOFF_MAX_SECONDS", "SCORING_RUN_TASKS", "SCORING_TASK_BUDGET_SECONDS",
    "SCORING_REDISPATCH_SECONDS", "TASK_RETRY_BACKOFF_MAX_SECONDS", "BROKER_VISIBILITY_TIMEOUT",
    "API_RETRY_AFTER_SECONDS", "DB_CONNECT_TIMEOUT", "DB_KEEPALIVES_IDLE",
    "DB_KEEPALIVES_INTERVAL", "DB_KEEPALIVES_COUNT", "DB_TCP_USER_TIMEOUT",
    "DB_STATEMENT_TIMEOUT", "DB_IDLE_IN_TRANSACTION_TIMEOUT",
)  # fmt: skip


def settings_defaults() -> dict[str, int]:
    """Each recovery setting's default, read from riskplatform/settings.py itself."""
    source = (Path(settings.BASE_DIR) / "riskplatform" / "settings.py").read_text()
    defaults = {}
    for name, expression in re.findall(r'env_int\("([A-Z_]+)", ([\d\s*+]+)\)', source):
        product = 1
        for factor in expression.split("*"):  # "75 * 60"
            product *= int(factor)
        defaults[name] = product
    return defaults


def settings_lines() -> list[str]:
    defaults = settings_defaults()
    rows = [("setting", "default", "this host", "drill workers")]
    for name in RECOVERY_SETTINGS:
        here = os.environ.get(name, str(defaults.get(name, "?")))
        rows.append((name, str(defaults.get(name, "?")), here, WORKER_ENV.get(name, here)))
    rows.append(("sweep_scoring_runs every (s)", "30", "30", str(SWEEP_EVERY)))
    return table_lines(rows)


def table_lines(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in rows]  # fmt: skip
    lines.insert(1, "  ".join("-" * width for width in widths))
    return [line.rstrip() for line in lines]


@dataclass
class FaultResult:
    fault: str
    expected: int  # current prediction rows (3 per patient), or patients for the API
    found: int
    duplicates: int
    missing: int
    recover_seconds: float | None
    run_row_matches: bool | None  # None: no run (the API fault)
    passed: bool
    note: str

    def cells(self) -> tuple[str, ...]:
        recover = "-" if self.recover_seconds is None else f"{self.recover_seconds:.1f}"
        matches = {None: "n/a", True: "yes", False: "NO"}[self.run_row_matches]
        verdict = "pass" if self.passed else "FAIL"
        return (self.fault, f"{self.expected:,}", f"{self.found:,}", f"{self.duplicates:,}",
                f"{self.missing:,}", recover, matches, verdict)  # fmt: skip


RESULT_HEADER = ("fault", "rows expected", "rows found", "duplicates", "missing",
                 "recover s", "run row = db", "verdict")  # fmt: skip


class Drill:
    """The servers and processes of one drill; `say` prints a line as it goes."""

    def __init__(self, *, patients: int, chunk_size: int, outage: int, beats_seconds: int,
                 say) -> None:  # fmt: skip
        self.patients, self.chunk_size = patients, chunk_size
        self.outage, self.beats_seconds = outage, beats_seconds
        self.say = say
        self.folder = drill_folder()
        self.postgres = PrivatePostgres(port=int(os.environ[POSTGRES_PORT]))
        self.redis = PrivateRedis(self.folder, port=int(os.environ[REDIS_PORT]))
        self.trained = None
        self._versions = 0

    @contextlib.contextmanager
    def servers(self) -> Iterator[None]:
        self.postgres.start()
        try:
            self.redis.start()
            try:
                yield
            finally:
                connection.close()
                with contextlib.suppress(Exception):
                    self.redis.stop()
        finally:
            connection.close()
            self.postgres.close()

    def prepare(self) -> None:
        """Schema, a model trained on a generated cohort, and the population."""
        from patients.cohort import cohort_write
        from predictions.training import models_train, training_frame_read
        from riskplatform.drills.population import population_create

        started = time.monotonic()
        call_command("migrate", verbosity=0)
        files = cohort_write(out_dir=self.folder / "cohort", patients=10, seed=3,
                             training_patients=3000)  # fmt: skip
        self.trained = models_train(frame=training_frame_read(files.training), seed=3,
                                    max_iter=40)  # fmt: skip
        from django_celery_beat.models import PeriodicTask

        PeriodicTask.objects.update(enabled=False)  # each fault schedules what it needs
        population_create(self.patients, prefix="DRL")
        self.say(f"prepared in {time.monotonic() - started:.0f} s: migrated, model trained, "
                 f"{self.patients:,} patients")  # fmt: skip

    def version(self, fault: str, *, activate: bool = False) -> str:
        """A model version of its own per fault: every census counts that version's rows."""
        from riskplatform.drills.population import version_register

        self._versions += 1
        return version_register(self.trained, f"v9.{self._versions}", activate=activate)

    def env(self) -> dict[str, str]:
        return {**WORKER_ENV, "DATABASE_URL": self.postgres.url, "REDIS_URL": self.redis.url}

    def worker(self, name: str) -> contextlib.AbstractContextManager[CeleryWorker]:
        return celery_worker(self.folder, redis_url=self.redis.url, hostname=f"{name}@drill",
                             env=self.env(), new_session=False)  # fmt: skip

    def beat(self) -> contextlib.AbstractContextManager[CeleryProcess]:
        return celery_beat(self.folder, redis_url=self.redis.url, env=self.env(),
                           new_session=False)  # fmt: skip

    def schedule(self, tasks: list[str], *, every: int) -> None:
        """Beat's schedule: only `tasks`, every `every` seconds."""
        from django_celery_beat.models import IntervalSchedule, PeriodicTask

        PeriodicTask.objects.update(enabled=False)
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period="seconds")
        for task in tasks:
            PeriodicTask.objects.update_or_create(
                name=f"drill: {task}", defaults={"task": task, "interval": interval,
                                                 "enabled": True},
            )  # fmt: skip

    # -- looking at the database (a fresh connection each time: it may have been down) ------

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with self.postgres.connect() as conn:
            return conn.execute(sql, params or []).fetchall()

    def chunks_done(self, run_id: int) -> int:
        return self.query("SELECT count(*) FROM scoring_chunks WHERE run_id = %s "
                          "AND status = 'done'", [run_id])[0][0]  # fmt: skip

    def warmed_up(self, run) -> None:
        """Wait until a few chunks are written: the fault lands mid-run."""
        enough = max(1, min(3, run.chunks_total // 4))
        wait_until(lambda: self.chunks_done(run.pk) >= enough, timeout=300,
                   every=0.2, message=f"{enough} chunks written")  # fmt: skip

    def run_over(self, run_id: int) -> bool:
        sql = "SELECT status FROM scoring_runs WHERE run_id = %s"
        return self.query(sql, [run_id])[0][0] in ("succeeded", "failed")

    def run_ended(self, run_id: int, *, timeout: float = 600) -> float:
        """Wait for the run to succeed or fail; returns the monotonic time it was seen."""
        wait_until(lambda: self.run_over(run_id), timeout=timeout, every=0.2,
                   message=f"run {run_id} to end")  # fmt: skip
        return time.monotonic()

    def held_by(self, run_id: int, node: str) -> list[tuple[int, str, int]]:
        return self.query(
            "SELECT chunk_no, lease_holder, fencing_token FROM scoring_chunks WHERE run_id = %s "
            "AND status = 'running' AND lease_holder LIKE %s ORDER BY chunk_no",
            [run_id, f"{node}:%"],
        )
