"""A real worker process (prefork, concurrency 2, the project's settings) on a Redis of its
own that is restarted, idle and in the middle of a task: the same process reconnects and keeps
consuming. The mid-task case used to stop the worker ("Unrecoverable error: AttributeError(
"'NoneType' object has no attribute 'hostname'")"; riskplatform/core/broker.py). What becomes
of the task (run once, or handed back and run twice): docs/operations.md, "Broker restarts"."""

import json
import signal

import pytest

from riskplatform.drills.processes import celery_worker
from riskplatform.drills.servers import PrivateRedis

pytestmark = pytest.mark.celery_worker

CRASH = "Unrecoverable error"


@pytest.fixture
def broker(tmp_path):
    broker = PrivateRedis(tmp_path)
    broker.start()
    yield broker
    if broker.server:
        broker.stop()


@pytest.fixture
def worker(transactional_db, tmp_path, broker):
    # Concurrency 2: with a task running the consumer still waits on BRPOP for another one,
    # which is what the drill's worker was doing when the broker went away.
    with celery_worker(
        tmp_path, redis_url=broker.url, concurrency=2, include=("tests.faults.tasks",)
    ) as worker:
        yield worker


def _journal(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_an_idle_worker_survives_a_broker_restart_and_runs_the_next_task(broker, worker, tmp_path):
    broker.restart()
    worker.wait_for_log("Connected to redis", count=2)  # the reconnect, after the first

    ran_in = worker.client.send_task("faults.note", args=[str(tmp_path / "j"), "after"])
    assert ran_in.get(timeout=20) in worker.pool_pids(), worker.log_tail()
    assert worker.alive()  # the same process: the handle is the one started above
    assert CRASH not in worker.log()


def test_a_broker_restart_in_the_middle_of_a_task_keeps_the_worker_and_completes_the_task(
    broker, worker, tmp_path
):
    journal, release = tmp_path / "journal", tmp_path / "release"
    result = worker.client.send_task("faults.hold", args=[str(journal), str(release), 30.0])
    worker.wait_until(lambda: _journal(journal), "the task to start")

    # Redis stays away until the worker has noticed, as in a real restart, which takes longer
    # than that; a broker that answers again at once is the failover case of
    # docs/operations.md, where the message may be handed back and run a second time.
    broker.stop()
    worker.wait_for_log(f"Cannot connect to redis|{CRASH}")  # after the hand-back failed
    assert CRASH not in worker.log(), worker.log_tail()
    assert "Restoring 1 unacknowledged message(s)" in worker.log()  # the path that crashed
    broker.start()
    worker.wait_for_log("Connected to redis", count=2)
    release.touch()

    # acks_late: the run in progress goes on, and its message is acknowledged once it is done
    # (after the reconnect). Handing it back at the disconnect failed (Redis was down), so it
    # is not redelivered: the task ran once, and nothing is left queued or unacknowledged.
    assert result.get(timeout=20) in worker.pool_pids(), worker.log_tail()
    assert [entry["event"] for entry in _journal(journal)] == ["started", "finished"]
    redis = broker.client()
    worker.wait_until(lambda: redis.hlen("unacked") == 0, "the acknowledgement")
    assert redis.llen("celery") == 0
    assert worker.alive()
    assert CRASH not in worker.log()

    # And it goes on consuming.
    after = worker.client.send_task("faults.note", args=[str(journal), "after"])
    assert after.get(timeout=20) in worker.pool_pids()


def test_a_broker_back_before_the_worker_notices_gets_the_task_back_and_it_runs_twice(
    broker, worker, tmp_path
):
    journal, release = tmp_path / "journal", tmp_path / "release"
    result = worker.client.send_task("faults.hold", args=[str(journal), str(release), 30.0])
    worker.wait_until(lambda: _journal(journal), "the task to start")

    # A failover: the worker's main process (frozen here; the pool runs on) finds the broker
    # answering again when it notices the lost connection, so handing back the unacked
    # message succeeds and it is delivered again while the first run goes on.
    worker.signal(signal.SIGSTOP)
    broker.restart()
    worker.signal(signal.SIGCONT)
    worker.wait_until(lambda: len(_journal(journal)) == 2, "the second run")
    release.touch()

    assert result.get(timeout=20) in worker.pool_pids()
    redis = broker.client()
    worker.wait_until(lambda: len(_journal(journal)) == 4, "both runs to finish")
    worker.wait_until(lambda: redis.hlen("unacked") == 0, "both acknowledgements")
    runs = [entry for entry in _journal(journal) if entry["event"] == "started"]
    assert [run["redelivered"] for run in runs] == [False, True]
    assert redis.llen("celery") == 0
    assert worker.alive()
    assert CRASH not in worker.log()
