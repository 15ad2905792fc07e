"""What the hash chains cost (core migration 0012): bursts of concurrent log writes with the
chain triggers on, then off (the owner turns them off in the throwaway database), in turns.

- page views: each client writes access_log rows one by one, each its own transaction, as
  a page view does;
- submissions: each client's transaction writes an audit row first and then stays open for
  HOLD_MS, as an API submission's does (PATIENT_ADDED, then scoring and the kept answer),
  so the chain head's lock is held that long: the worst case for the chain's serialisation.
"""

import threading
import time
from dataclasses import dataclass

import dj_database_url
import numpy as np
import psycopg
from django.conf import settings
from django.db import connection, connections, transaction

from riskplatform.core.db import database_url
from riskplatform.core.models import AccessAction, AccessEvent, AuditEvent
from riskplatform.core.services import audit_event_record

HOLD_MS = 15


@dataclass(frozen=True)
class Burst:
    label: str
    chained: bool
    seconds: list[float]
    wall: float

    def percentile(self, p: float) -> float:
        return float(np.percentile(self.seconds, p)) * 1000

    @property
    def rate(self) -> float:
        return len(self.seconds) / self.wall


def _owner_url() -> str:
    # The owner's URL, for the throwaway database this process is connected to.
    owner = dj_database_url.parse(settings.DATABASE_MIGRATE_URL)
    return database_url({**owner, "NAME": connection.settings_dict["NAME"]})


def _chain(on: bool) -> None:
    """Off: no chain trigger and no unique chain_seq index (the baseline). On: both again,
    on emptied logs (the rows written meanwhile have no links)."""
    with psycopg.connect(_owner_url(), autocommit=True) as owner:
        for table in ("audit_log", "access_log"):
            constraint = f"{table}_chain_seq_unique"
            present = owner.execute(
                "SELECT 1 FROM pg_constraint WHERE conname = %s", [constraint]
            ).fetchone()
            if on and not present:
                owner.execute(f"TRUNCATE {table}")
                owner.execute("DELETE FROM log_chain_heads WHERE table_name = %s", [table])
                owner.execute(f"ALTER TABLE {table} ADD CONSTRAINT {constraint} "
                              "UNIQUE (chain_seq)")  # fmt: skip
            elif not on and present:
                owner.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}")
            owner.execute(
                f"ALTER TABLE {table} {'ENABLE' if on else 'DISABLE'} TRIGGER {table}_chain"
            )


def _page_view() -> None:
    AccessEvent.objects.create(username="bench", action=AccessAction.PATIENT_VIEW,
                               patient_uuids=[], path="/patients/x/")  # fmt: skip


def _submission() -> None:
    with transaction.atomic():
        audit_event_record(event_type=AuditEvent.PATIENT_ADDED, changed_by="bench",
                           new_values={"n": 1})  # fmt: skip
        time.sleep(HOLD_MS / 1000)


def _burst(label: str, write, *, clients: int, each: int, chained: bool) -> Burst:
    latencies: list[float] = []
    lock = threading.Lock()

    def client() -> None:
        mine = []
        try:
            for _ in range(each):
                started = time.perf_counter()
                write()
                mine.append(time.perf_counter() - started)
        finally:
            connections.close_all()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Burst(label, chained, latencies, time.perf_counter() - started)


def audit_chain_benchmark(*, clients: int, each: int, rounds: int, say=print) -> list[Burst]:
    bursts = []
    for _ in range(rounds):
        for chained in (True, False):
            _chain(chained)
            say(f"chain {'on' if chained else 'off'}: {clients} clients x {each} …")
            bursts.append(_burst("page views (access_log)", _page_view, clients=clients,
                                 each=each, chained=chained))  # fmt: skip
            bursts.append(_burst(f"submissions (audit_log, {HOLD_MS} ms open)", _submission,
                                 clients=clients, each=max(1, each // 5),
                                 chained=chained))  # fmt: skip
    _chain(True)
    return bursts
