"""Population runs through real faults, with several real worker processes on the real
broker and database (docs/operations.md, "Population runs: chunks, leases and fencing"):
a run shared by two workers; a worker killed with SIGKILL; a worker paused past its lease
whose late write is refused; PostgreSQL stopped for 30 s; Redis restarted; two beats."""

import contextlib
import os
import signal
import time

import psutil
import psycopg
import pytest
from django.db import connection, transaction

from riskplatform.celery import app
from riskplatform.drills.census import run_census
from riskplatform.drills.population import (
    chunk_holders,
    population_create,
    run_dispatched,
    run_planned,
    toy_version_activate,
)
from riskplatform.drills.postgres import wait_until
from riskplatform.drills.processes import celery_beat, celery_worker

pytestmark = [pytest.mark.celery_worker, pytest.mark.faults]

LEASE = 3  # seconds: every fault below is recovered within a few leases
# What every process of these tests runs with: short leases and backoffs, so that recovery
# is quick, and the sweep free to ask again at once.
WORKER_ENV = {
    "SCORING_LEASE_SECONDS": str(LEASE),
    "SCORING_RETRY_BACKOFF_SECONDS": "1",
    "TASK_RETRY_BACKOFF_MAX_SECONDS": "3",
    "SCORING_REDISPATCH_SECONDS": "2",
    "SCORING_TASK_BUDGET_SECONDS": "120",
}


@pytest.fixture
def scoring(reference_data, toy_models, settings):
    settings.SCORING_LEASE_SECONDS = LEASE
    app.control.purge()  # messages earlier tests left queued stay theirs
    return toy_version_activate(toy_models)


def _wait_for_end(run_id: int, *, timeout: float, cursor=None) -> float:
    """Seconds until the run ends (succeeded or failed), polling its row."""
    started = time.monotonic()
    deadline = started + timeout
    cur = cursor or connection.cursor()
    with cur:
        while time.monotonic() < deadline:
            cur.execute("SELECT status FROM scoring_runs WHERE run_id = %s", [run_id])
            if cur.fetchone()[0] in ("succeeded", "failed"):
                return time.monotonic() - started
            time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not end within {timeout} s")


def _assert_exact(census) -> None:
    assert census.status == "succeeded", census.error
    assert (census.scored_twice, census.missing) == (0, 0), census
    assert census.current == census.prediction_rows == census.projections == 3 * census.planned
    assert census.run_row_matches, census


def _chunks_done(run_id: int, cursor=None) -> int:
    with cursor or connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM scoring_chunks WHERE run_id = %s AND status = 'done'",
                    [run_id])  # fmt: skip
        return cur.fetchone()[0]


def _held_by(run_id: int, node: str) -> list[tuple[int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT chunk_no, lease_holder FROM scoring_chunks WHERE run_id = %s "
            "AND status = 'running' AND lease_holder LIKE %s",
            [run_id, f"{node}:%"],
        )
        return cursor.fetchall()


def _signal_family(worker, signum: int) -> None:
    for process in worker.family():
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signum)


@pytest.mark.django_db(transaction=True)
def test_a_run_is_shared_by_two_workers(scoring, tmp_path):
    population_create(3000)
    run = run_planned(chunk_size=50)
    with (
        celery_worker(tmp_path, hostname="w1@faults", env=WORKER_ENV),
        celery_worker(tmp_path, hostname="w2@faults", env=WORKER_ENV),
    ):
        run_dispatched(run, copies=2)
        _wait_for_end(run.pk, timeout=120)
    holders = chunk_holders(run.pk)
    assert set(holders) == {"w1@faults", "w2@faults"}, holders  # both hosts took part
    assert sum(holders.values()) == 60
    with connection.cursor() as cursor:
        _assert_exact(run_census(cursor, run_id=run.pk, version="v1.0"))


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_s_chunk_is_taken_over_within_the_lease(scoring, tmp_path):
    population_create(3000)
    run = run_planned(chunk_size=50)
    with (
        celery_worker(tmp_path, hostname="w1@faults", env=WORKER_ENV) as w1,
        celery_worker(tmp_path, hostname="w2@faults", env=WORKER_ENV) as w2,
    ):
        run_dispatched(run, copies=2)
        # Both take part first: a takeover needs a second worker with a message of the run.
        w2.wait_until(lambda: "w2@faults" in chunk_holders(run.pk), "w2's first chunk")
        # Freeze w1 where it is; kill it only while it holds a chunk (it nearly always does).
        for _ in range(50):
            wait_until(lambda: _chunks_done(run.pk) >= 5, message="five chunks written")
            _signal_family(w1, signal.SIGSTOP)
            held = _held_by(run.pk, "w1@faults")
            if held:
                break
            _signal_family(w1, signal.SIGCONT)
        assert held, "w1 never held a chunk"
        _signal_family(w1, signal.SIGKILL)  # every process of the host, at once
        killed = time.monotonic()
        try:
            w2.wait_until(lambda: _token(run.pk, held[0][0]) >= 2,
                          f"takeover of chunk {held[0][0]}", timeout=LEASE + 30)  # fmt: skip
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nunfinished chunks: {_chunk_table(run.pk)}") from None
        taken_over = time.monotonic() - killed
        _wait_for_end(run.pk, timeout=120)
    assert taken_over < LEASE + 10  # the lease, then w2's next claim (a chunk or a poll away)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attempts, fencing_token, split_part(lease_holder, ':', 1) "
            "FROM scoring_chunks WHERE run_id = %s AND chunk_no = %s",
            [run.pk, held[0][0]],
        )
        assert cursor.fetchone() == (2, 2, "w2@faults")  # taken over, written once
        _assert_exact(run_census(cursor, run_id=run.pk, version="v1.0"))


@pytest.mark.django_db(transaction=True)
def test_a_worker_paused_past_its_lease_has_its_late_write_refused(scoring, tmp_path):
    population_create(600)
    run = run_planned(chunk_size=300)
    barrier = psycopg.connect(**_conninfo(), autocommit=False)
    with celery_worker(tmp_path, hostname="w1@faults", env=WORKER_ENV) as w1:
        # Hold w1 inside its feature read (after its claim, before its writing transaction)
        # by locking the features table, so the pause lands exactly between the two.
        barrier.execute("LOCK TABLE patient_features IN ACCESS EXCLUSIVE MODE")
        run_dispatched(run, copies=1)
        wait_until(
            lambda: _held_by(run.pk, "w1@faults") and _waiting_on_lock(),
            message="w1 blocked in its feature read",
        )
        holder_pid = int(_held_by(run.pk, "w1@faults")[0][1].split(":")[1])
        os.kill(holder_pid, signal.SIGSTOP)  # the process that holds the lease, mid-chunk
        barrier.rollback()  # the read completes into a paused process
        wait_until(
            lambda: _lease_expired(run.pk, 0), timeout=LEASE + 10, message="w1's lease to expire"
        )
        with celery_worker(tmp_path, hostname="w2@faults", env=WORKER_ENV):
            run_dispatched(run, copies=1)
            _wait_for_end(run.pk, timeout=60)  # w2 took chunk 0 over and wrote the rest
            os.kill(holder_pid, signal.SIGCONT)
            w1.wait_for_log(r"chunk 0 of run \d+ was reclaimed \(token 1, now 2, done\): write "
                            r"refused", timeout=30)  # fmt: skip
    barrier.close()
    assert chunk_holders(run.pk) == {"w2@faults": 2}
    with connection.cursor() as cursor:
        _assert_exact(run_census(cursor, run_id=run.pk, version="v1.0"))


def _chunk_table(run_id: int) -> list[tuple]:
    """The run's unfinished chunks, for a failure message."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT chunk_no, status, fencing_token, attempts, lease_holder, "
            "round(extract(epoch FROM lease_expires_at - clock_timestamp())::numeric, 1) "
            "FROM scoring_chunks WHERE run_id = %s AND status <> 'done' ORDER BY chunk_no",
            [run_id],
        )
        return cursor.fetchall()


def _token(run_id: int, chunk_no: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT fencing_token FROM scoring_chunks WHERE run_id = %s AND chunk_no = %s",
            [run_id, chunk_no],
        )
        return cursor.fetchone()[0]


def _conninfo() -> dict:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return params


def _waiting_on_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted "
            "AND relation = 'patient_features'::regclass)"
        )
        return cursor.fetchone()[0]


def _lease_expired(run_id: int, chunk_no: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lease_expires_at <= clock_timestamp() FROM scoring_chunks "
            "WHERE run_id = %s AND chunk_no = %s",
            [run_id, chunk_no],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_run_resumes_by_itself_after_postgresql_was_down_for_30_seconds(scoring, tmp_path):
    """Workers and beat on a private PostgreSQL, stopped (immediate: a crash) mid-run."""
    from riskplatform.core.db import database_url
    from riskplatform.drills.postgres import PrivatePostgres

    population_create(3000)
    run = run_planned(chunk_size=50)
    _schedule(["predictions.sweep_scoring_runs"], every=2)
    with PrivatePostgres() as server:
        server.load_copy_of(database_url())  # the population, the model and the planned run
        env = {**WORKER_ENV, "DATABASE_URL": server.url}
        with (
            celery_worker(tmp_path, hostname="w1@faults", env=env),
            celery_worker(tmp_path, hostname="w2@faults", env=env),
            celery_beat(tmp_path, env=env),
        ):
            _send_run_tasks(run.pk, copies=2)
            with server.connect() as db:
                wait_until(
                    lambda: _chunks_done(run.pk, db.cursor()) >= 5, message="five chunks written"
                )
            server.stop()
            time.sleep(30)  # the outage itself
            server.start()
            with server.connect() as db:
                _wait_for_end(run.pk, timeout=120, cursor=db.cursor())
                _assert_exact(run_census(db.cursor(), run_id=run.pk, version="v1.0"))


def _schedule(tasks: list[str], *, every: int) -> None:
    """Beat's schedule for `tasks`, at test speed (a flush after an earlier transactional
    test empties the rows the migrations created)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period="seconds")
    for task in tasks:
        PeriodicTask.objects.update_or_create(
            name=f"test: {task}", defaults={"task": task, "interval": interval, "enabled": True}
        )


def _send_run_tasks(run_id: int, *, copies: int, client=None) -> None:
    for _ in range(copies):
        (client or app).send_task("predictions.score_run", args=[run_id])


@pytest.mark.django_db(transaction=True)
def test_workers_keep_running_through_a_redis_restart_and_a_lost_queued_run_completes(
    scoring, tmp_path, toy_models
):
    from predictions.scoring_runs import scoring_run_create, scoring_run_dispatch
    from predictions.services import model_version_register
    from riskplatform.drills.processes import celery_client
    from riskplatform.drills.servers import PrivateRedis

    population_create(3000)
    first = run_planned(chunk_size=50)
    model_version_register(version="v1.1", models=toy_models.models,
                           encoding=toy_models.encoding, changed_by="test")  # fmt: skip
    broker = PrivateRedis(tmp_path)
    broker.start()
    client = celery_client(broker.url)
    env = {**WORKER_ENV, "REDIS_URL": broker.url}
    _schedule(["predictions.sweep_scoring_runs"], every=2)
    try:
        with (
            celery_worker(tmp_path, redis_url=broker.url, hostname="w1@faults", env=env) as w1,
            celery_worker(tmp_path, redis_url=broker.url, hostname="w2@faults", env=env) as w2,
            celery_beat(tmp_path, redis_url=broker.url, env=env),
        ):
            pids = {w1.pid, w2.pid}
            _send_run_tasks(first.pk, copies=2, client=client)
            wait_until(lambda: _chunks_done(first.pk) >= 5, message="five chunks written")
            broker.restart()  # mid-run
            _wait_for_end(first.pk, timeout=120)

            # A run queued (`score_population --async`) while the workers are busy elsewhere,
            # and a restart of a Redis that keeps nothing: the message is lost, the row is not.
            for worker in (w1, w2):
                _signal_family(worker, signal.SIGSTOP)
            queued = scoring_run_create(version="v1.1", changed_by="cli --async", chunk_size=500)
            with transaction.atomic():
                scoring_run_dispatch(run_id=queued.pk)
            broker.stop()
            os.remove(broker.db)  # nothing persisted: the queued message is gone
            broker.start()
            for worker in (w1, w2):
                _signal_family(worker, signal.SIGCONT)
            _wait_for_end(queued.pk, timeout=120)  # planned and dispatched by the sweep
            assert {w1.pid, w2.pid} == pids and w1.alive() and w2.alive()
    finally:
        client.close()
        broker.stop()
    with connection.cursor() as cursor:
        _assert_exact(run_census(cursor, run_id=first.pk, version="v1.0"))
        _assert_exact(run_census(cursor, run_id=queued.pk, version="v1.1"))


# The drill (bin/manage drill) runs two beats for five minutes on the production schedule
# (score_pending every minute: ten sends). Here both beats send it every second for a minute
# instead: 120 sends, many of them at the same moment as the other beat's.
BEATS_SECONDS = int(os.environ.get("FAULT_BEATS_SECONDS", "60"))


@pytest.mark.django_db(transaction=True)
def test_two_beats_never_score_a_patient_twice(scoring, tmp_path):
    _schedule(["predictions.score_pending", "predictions.sweep_scoring_runs"], every=1)
    arrived = 0
    with (
        celery_worker(tmp_path, hostname="w1@faults", env=WORKER_ENV) as w1,
        celery_worker(tmp_path, hostname="w2@faults", env=WORKER_ENV) as w2,
        celery_beat(tmp_path, env=WORKER_ENV),
        celery_beat(tmp_path, env=WORKER_ENV),
    ):
        deadline = time.monotonic() + BEATS_SECONDS
        while time.monotonic() < deadline:  # patients keep arriving unscored, as from an import
            arrived += len(population_create(1000))
            time.sleep(2)
        wait_until(lambda: _pending() == 0, timeout=120, message="every patient scored")
        skipped = sum(w.log().count("already running elsewhere; skipped") for w in (w1, w2))
    assert skipped > 0  # the two beats' copies did overlap, and the lock turned one away
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE superseded_at IS NOT NULL), "
            "count(DISTINCT patient_id) FROM predictions WHERE model_version = 'v1.0'"
        )
        rows, superseded, patients = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM financial_projections")
        projections = cursor.fetchone()[0]
    assert (rows, superseded, patients, projections) == (3 * arrived, 0, arrived, 3 * arrived)


def _pending() -> int:
    from predictions.scoring import patients_needing_score

    return len(patients_needing_score(version="v1.0"))
