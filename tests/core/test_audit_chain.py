"""Each audit_log and access_log row is a link of a hash chain computed by PostgreSQL; a change
made by the owner (past every privilege and trigger) is found by `audit_verify`, which names
the row."""

import hashlib
import io
import threading

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, connections

from riskplatform.core.audit_chain import GENESIS, chain_verify
from riskplatform.core.models import AccessAction, AccessEvent, AuditEvent, AuditLog
from riskplatform.core.services import audit_event_record
from tests import db_roles

pytestmark = pytest.mark.django_db(transaction=True)  # the owner's connection sees the rows


def _events(count: int) -> list[AuditLog]:
    return [
        audit_event_record(
            event_type=AuditEvent.MODEL_UPDATE, changed_by=f"user{i}", new_values={"n": i}
        )
        for i in range(count)
    ]


def _verify() -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("audit_verify", stdout=out)
    except SystemExit as stopped:
        return stopped.code, out.getvalue()
    return 0, out.getvalue()


def _as_owner(*statements: str) -> None:
    """The owner's way past the append-only trigger: turn the table's triggers off."""
    with db_roles.owner_connect(autocommit=False) as owner:
        for statement in statements:
            owner.execute(statement)
        owner.commit()


def test_each_row_links_to_the_one_before_by_sha256():
    events = _events(3)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT chain_seq, row_hash, audit_log_chain_content(a) FROM audit_log a "
            "ORDER BY chain_seq"
        )
        rows = cursor.fetchall()
    previous = GENESIS
    for seq, (chain_seq, row_hash, content) in enumerate(rows, start=1):
        assert chain_seq == seq
        assert row_hash == hashlib.sha256((previous + content).encode()).hexdigest()
        previous = row_hash
    assert [e.row_hash for e in events] == [r[1] for r in rows]
    code, output = _verify()
    assert code == 0
    assert output.splitlines() == [
        f"audit_log: intact: 3 rows (head 3 {previous})",
        f"access_log: intact: 0 rows (head 0 {GENESIS})",
    ]


def test_a_row_the_owner_changed_is_named():
    events = _events(4)
    AccessEvent.objects.create(username="cardio", action=AccessAction.PATIENT_VIEW)
    target = events[2]
    _as_owner(
        "ALTER TABLE audit_log DISABLE TRIGGER USER",
        f"UPDATE audit_log SET changed_by = 'someone else' WHERE log_id = {target.pk}",
        "ALTER TABLE audit_log ENABLE TRIGGER USER",
    )
    code, output = _verify()
    assert code == 1
    report = chain_verify("audit_log")
    assert (report.broken_row, report.broken_seq) == (target.pk, target.chain_seq)
    assert report.stored == target.row_hash != report.expected
    assert output.splitlines()[0] == (
        f"audit_log: BROKEN at row {target.pk} (chain_seq {target.chain_seq}): the row does not "
        f"match its hash (changed after its insert): expected {report.expected}, stored "
        f"{target.row_hash}"
    )
    assert output.splitlines()[1].startswith("access_log: intact: 1 rows")


def test_even_the_owner_cannot_retype_a_chained_column_and_a_rewrite_breaks_the_chain():
    events = _events(2)
    # The chain's content function depends on the column (BEGIN ATOMIC body).
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="used by a function"):
        _as_owner("ALTER TABLE audit_log ALTER COLUMN changed_by TYPE varchar(50) USING 'x'")
    _as_owner(
        "ALTER TABLE audit_log DISABLE TRIGGER USER",
        "UPDATE audit_log SET changed_by = 'rewritten'",
        "ALTER TABLE audit_log ENABLE TRIGGER USER",
    )
    assert chain_verify("audit_log").broken_row == events[0].pk


def test_removed_rows_are_found_in_the_middle_and_at_the_end():
    events = _events(5)
    _as_owner(
        "ALTER TABLE audit_log DISABLE TRIGGER USER",
        f"DELETE FROM audit_log WHERE log_id = {events[1].pk}",
        "ALTER TABLE audit_log ENABLE TRIGGER USER",
    )
    report = chain_verify("audit_log")
    assert report.broken_row == events[2].pk
    assert report.reason.startswith("chain_seq 3 follows 1")
    _as_owner(
        "ALTER TABLE audit_log DISABLE TRIGGER USER",
        f"DELETE FROM audit_log WHERE log_id IN ({events[1].pk}, {events[2].pk}, "
        f"{events[3].pk}, {events[4].pk})",
        "ALTER TABLE audit_log ENABLE TRIGGER USER",
    )
    report = chain_verify("audit_log")
    assert not report.intact and report.broken_row is None
    assert report.reason == (
        "the chain head is at 5 but the last row is at 1: rows removed from the end"
    )


def test_a_row_slipped_in_with_the_trigger_off_is_named():
    _events(2)
    _as_owner(
        "ALTER TABLE access_log DISABLE TRIGGER access_log_chain",
        "INSERT INTO access_log (username, action, report, patient_uuids, patient_count, path)"
        " VALUES ('ghost', 'EXPORT', '', '{}', 0, '')",
        "ALTER TABLE access_log ENABLE TRIGGER access_log_chain",
    )
    report = chain_verify("access_log")
    ghost = AccessEvent.objects.get(username="ghost")
    assert (report.broken_row, report.broken_seq) == (ghost.pk, 0)


def test_concurrent_writers_make_one_unbroken_chain():
    errors = []

    def write(n: int) -> None:
        try:
            for i in range(20):
                if i % 2:
                    AccessEvent.objects.create(username=f"w{n}", action=AccessAction.REPORT_VIEW)
                else:
                    audit_event_record(event_type=AuditEvent.MODEL_UPDATE, changed_by=f"w{n}")
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    lines = [chain_verify(table).line().split(" (head")[0] for table in ("audit_log", "access_log")]
    assert lines == ["audit_log: intact: 40 rows", "access_log: intact: 40 rows"]


def test_the_migration_chains_the_rows_that_existed_before_it():
    call_command("migrate", "core", "0011", verbosity=0)  # as the owner (DATABASE_MIGRATE_URL)
    try:
        with connection.cursor() as cursor:
            for i in range(3):
                cursor.execute(
                    "INSERT INTO audit_log (event_type, changed_by, changed_at) "
                    "VALUES ('MODEL_UPDATE', %s, now() - %s * interval '1 day')",
                    [f"before{i}", 3 - i],
                )
    finally:
        call_command("migrate", "core", verbosity=0)
    report = chain_verify("audit_log")
    assert report.intact and report.rows == 3
    assert list(AuditLog.objects.order_by("chain_seq").values_list("changed_by", flat=True)) == [
        "before0",
        "before1",
        "before2",
    ]
    _events(1)  # the trigger goes on from the migration's head
    assert chain_verify("audit_log").rows == 4 and chain_verify("audit_log").intact
