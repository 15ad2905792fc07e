"""Tasks for fault tests, loaded into a worker subprocess with ``--include tests.faults.tasks``.

They coordinate through files (the broker may be the thing that is down): each run appends
a line to a journal, and ``faults.hold`` waits until its release file appears.
"""

import json
import os
import time
from pathlib import Path

from celery import shared_task


def _journal(path: str, **entry) -> None:
    with open(path, "a") as journal:
        journal.write(json.dumps(entry) + "\n")
        journal.flush()
        os.fsync(journal.fileno())


@shared_task(bind=True, name="faults.hold", soft_time_limit=60, time_limit=90)
def hold_task(self, journal: str, release: str, timeout: float = 60.0) -> int:
    """Record that this run started, wait until `release` exists (at most `timeout`), record
    that it finished; returns the pid of the pool process that ran it."""
    delivery = self.request.delivery_info or {}
    _journal(journal, event="started", pid=os.getpid(), redelivered=delivery.get("redelivered"))
    deadline = time.monotonic() + timeout
    while not Path(release).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{release} did not appear within {timeout} s")
        time.sleep(0.05)
    _journal(journal, event="finished", pid=os.getpid())
    return os.getpid()


@shared_task(name="faults.note", soft_time_limit=30, time_limit=40)
def note_task(journal: str, label: str) -> int:
    """Record `label` in the journal; returns the pool process's pid."""
    _journal(journal, event="note", label=label, pid=os.getpid())
    return os.getpid()
