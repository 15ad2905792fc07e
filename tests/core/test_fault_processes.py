"""The fault-test helpers themselves (riskplatform/drills): a real beat and a real worker on a Redis
of their own, reading the test's committed rows from the test database."""

import json

import pytest

from riskplatform.drills.processes import celery_beat, celery_worker
from riskplatform.drills.servers import PrivateRedis


@pytest.mark.celery_worker
def test_beat_sends_a_scheduled_task_that_a_worker_process_runs(transactional_db, tmp_path):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    journal = tmp_path / "journal"
    PeriodicTask.objects.all().delete()  # only this schedule: the worker runs what beat sends
    PeriodicTask.objects.create(
        name="fault note", task="faults.note", args=json.dumps([str(journal), "beat"]),
        interval=IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS),
    )  # fmt: skip
    broker = PrivateRedis(tmp_path)
    broker.start()
    try:
        with (
            celery_worker(
                tmp_path, redis_url=broker.url, include=("tests.faults.tasks",)
            ) as worker,
            celery_beat(tmp_path, redis_url=broker.url) as beat,
        ):
            worker.wait_until(journal.exists, "a note sent by beat", timeout=20)
            note = json.loads(journal.read_text().splitlines()[0])
            assert note["label"] == "beat"
            assert [note["pid"]] == worker.pool_pids()
            assert beat.alive()
        assert not worker.alive() and not beat.alive()
        assert worker.family() == [] and beat.family() == []
    finally:
        broker.stop()
