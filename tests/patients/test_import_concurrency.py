"""Imports that cannot lose updates: two imports of the same patients at once, each in its own
thread with its own connection, keep the later-committed file's values, and each run's counts
are true (issue 12: one run reported "3000 created", the other "3000 unchanged" while its
values were dropped)."""

import threading
import time

import psycopg
import pytest
from django.db import connection, connections

from patients.importer import IMPORT_LOCK, ImportResult, patients_import
from patients.models import Patient
from riskplatform.core.locks import _key
from riskplatform.core.models import AuditEvent, AuditLog
from tests.patients.csv_files import row, write_csv

pytestmark = pytest.mark.django_db(transaction=True)

N = 300
WAIT_SECONDS = 60


def _file(path, age: int):
    return write_csv(path, [row(i, age=str(age)) for i in range(1, N + 1)])


def _other_session() -> psycopg.Connection:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params)


def _start(path, results: dict, name: str) -> threading.Thread:
    def run() -> None:
        try:
            results[name] = patients_import(path=path, source="IMPORTED", changed_by=name)
        except Exception as exc:  # reported by the test, not lost in the thread
            results[name] = exc
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=run, name=f"import-{name}")
    thread.start()
    return thread


def _wait_until(sql: str, expected: int) -> None:
    """Wait (polling the database, not a fixed sleep) until `sql` counts `expected`."""
    deadline = time.monotonic() + WAIT_SECONDS
    with _other_session() as probe:
        probe.autocommit = True
        while probe.execute(sql).fetchone()[0] < expected:
            assert time.monotonic() < deadline, f"never reached {expected}: {sql}"
            time.sleep(0.01)


def _join(*threads: threading.Thread) -> None:
    for thread in threads:
        thread.join(WAIT_SECONDS)
        assert not thread.is_alive(), f"{thread.name} did not finish"


def _ages() -> set[int]:
    return set(Patient.objects.values_list("age", flat=True))


def test_overlapping_imports_run_one_after_the_other_and_keep_the_later_file(
    reference_data, tmp_path
):
    files = {"a": _file(tmp_path / "a.csv", age=70), "b": _file(tmp_path / "b.csv", age=80)}
    results: dict[str, ImportResult | Exception] = {}
    waiting = (
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        f"AND objid::bigint = {_key(IMPORT_LOCK) & 0xFFFFFFFF}"
    )
    holder = _other_session()
    holder.autocommit = True
    holder.execute("SELECT pg_advisory_lock(%s)", [_key(IMPORT_LOCK)])  # both must queue
    try:
        first = _start(files["a"], results, "a")
        _wait_until(waiting, 1)
        second = _start(files["b"], results, "b")
        _wait_until(waiting, 2)  # both imports are running, each waiting for its turn
    finally:
        holder.close()
    _join(first, second)

    assert all(isinstance(r, ImportResult) for r in results.values()), results
    runs = AuditLog.objects.filter(event_type=AuditEvent.IMPORT_RUN).order_by("pk")
    earlier, later = (run.changed_by for run in runs)
    counts = {name: (r.created, r.updated, r.unchanged, r.rejected) for name, r in results.items()}
    assert counts == {earlier: (N, 0, 0, 0), later: (0, N, 0, 0)}
    assert _ages() == {70 if later == "a" else 80}
    assert Patient.objects.count() == N


def test_an_import_racing_an_uncommitted_insert_of_its_patients_updates_them(
    reference_data, tmp_path
):
    """Without the lock (another writer, or an import of an older release): the import's
    INSERT waits for the other transaction's rows, skips them, and its UPDATE then writes
    this file's values over them, counted as updated."""
    path = _file(tmp_path / "b.csv", age=80)
    other = _other_session()  # a transaction of its own, inserting the same external_ids
    other.execute(
        """
        INSERT INTO patients (external_id, age, gender, race, department_id, data_source,
                              annual_cost, cost_percentile, created_by)
        SELECT format('P-%%s', lpad(i::text, 4, '0')), 70, 'F', 'White',
               (SELECT min(department_id) FROM departments), 'IMPORTED', 12000, 0.5, 'other'
        FROM generate_series(1, %s) i
        """,
        [N],
    )
    results: dict[str, ImportResult | Exception] = {}
    try:
        thread = _start(path, results, "b")
        blocked = "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted"
        _wait_until(blocked, 1)  # the import waits on the other transaction's rows
        other.commit()
    finally:
        other.close()
    _join(thread)

    result = results["b"]
    assert isinstance(result, ImportResult), result
    assert (result.created, result.updated, result.unchanged) == (0, N, 0)
    assert _ages() == {80}
    assert Patient.objects.filter(updated_by="b").count() == N
