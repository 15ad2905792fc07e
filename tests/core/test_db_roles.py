"""The application's database role (the suite's own connection) cannot do what the red team
did from the app's connection (issue 12); PostgreSQL refuses each, and the app's own work
still succeeds. The owner's and the checks' side are below."""

import os
import stat

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from riskplatform.core.checks import database_role_check
from riskplatform.core.db import table_rows_estimate, tables_analyze
from riskplatform.core.db_roles import connection_role_problems
from riskplatform.core.models import AccessAction, AccessEvent, AuditEvent
from riskplatform.core.services import audit_event_record
from tests import db_roles

# (statement, what PostgreSQL 15 and 18 say; all with SQLSTATE 42501, insufficient_privilege)
REFUSED = {
    "truncate audit_log": ("TRUNCATE audit_log", "permission denied for table audit_log"),
    "truncate access_log": ("TRUNCATE access_log", "permission denied for table access_log"),
    "disable the trigger": (
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
        "must be owner of table audit_log",
    ),
    "drop the trigger": (
        "DROP TRIGGER access_log_append_only ON access_log",
        "must be owner of (table|relation) access_log",
    ),
    "drop the table": ("DROP TABLE access_log", "must be owner of table access_log"),
    "rewrite a column": (
        "ALTER TABLE audit_log ALTER COLUMN changed_by TYPE varchar(50) USING 'rewritten'",
        "must be owner of table audit_log",
    ),
    "replica mode": (
        "SET session_replication_role = replica",
        'permission denied to set parameter "session_replication_role"',
    ),
    "replica mode in a transaction": (
        "SET LOCAL session_replication_role = replica",
        'permission denied to set parameter "session_replication_role"',
    ),
    "run a program": (
        "COPY (SELECT 1) TO PROGRAM 'id'",
        "(must be superuser or have privileges of|permission denied to COPY to or from an "
        "external program).*",
    ),
    "read a server file": (
        "SELECT pg_read_file('/etc/passwd')",
        "permission denied for function pg_read_file",
    ),
    "update a log row": (
        "UPDATE audit_log SET changed_by = 'rewritten'",
        "permission denied for table audit_log",
    ),
    "delete log rows": ("DELETE FROM access_log", "permission denied for table access_log"),
    "change a training snapshot": (
        "DELETE FROM training_snapshots",
        "permission denied for table training_snapshots",
    ),
    "create a table": ("CREATE TABLE planted (id int)", "permission denied for schema public"),
    "create a schema": ("CREATE SCHEMA planted", "permission denied for database"),
    "back-date an event": (
        "INSERT INTO audit_log (event_type, changed_by, changed_at) "
        "VALUES ('MODEL_UPDATE', 'intruder', '2020-01-01')",
        "audit_log.changed_at is the time of the insert and cannot be given",
    ),
    "back-date an access": (
        "INSERT INTO access_log (username, action, report, patient_uuids, patient_count, path,"
        " occurred_at) VALUES ('x', 'EXPORT', '', '{}', 0, '', now() - interval '1 day')",
        "access_log.occurred_at is the time of the insert and cannot be given",
    ),
    "move the chain head": (
        "UPDATE log_chain_heads SET last_seq = 0",
        "permission denied for table log_chain_heads",
    ),
    "advance the chain": (
        "SELECT log_chain_append('audit_log', 'forged')",
        "permission denied for function log_chain_append",
    ),
    "refresh a table as the owner": (
        "SELECT platform_matview_refresh('audit_log')",
        "audit_log is not a materialized view of the platform",
    ),
    "analyze a catalog as the owner": (
        "SELECT platform_tables_analyze(ARRAY['pg_authid'])",
        "pg_authid is not a table of the platform",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("statement, message", REFUSED.values(), ids=REFUSED.keys())
def test_postgresql_refuses_the_application_role(statement, message):
    audit_event_record(event_type=AuditEvent.MODEL_UPDATE, changed_by="test")
    with pytest.raises(DatabaseError) as refused, transaction.atomic(), connection.cursor() as c:
        c.execute(statement)
    cause = refused.value.__cause__
    assert cause.sqlstate == "42501", (cause.sqlstate, str(cause))
    assert refused.match(message)


@pytest.mark.django_db
def test_the_suite_itself_runs_as_the_application_role():
    with connection.cursor() as cursor:
        role, problems = connection_role_problems(cursor)
    assert role == db_roles.suite_roles().app.name
    assert problems == []
    assert database_role_check() == []


@pytest.mark.django_db
def test_the_application_role_still_writes_the_logs_and_analyzes_its_tables():
    event = audit_event_record(event_type=AuditEvent.MODEL_UPDATE, changed_by="test")
    assert event.chain_seq > 0 and len(event.row_hash) == 64  # read back from the trigger
    AccessEvent.objects.create(username="u", action=AccessAction.REPORT_VIEW)
    for _ in range(50):
        audit_event_record(event_type=AuditEvent.MODEL_UPDATE, changed_by="test")
    # As the owner (PostgreSQL 15 would skip a non-owner's ANALYZE with a WARNING only).
    tables_analyze("audit_log", "access_log")
    assert table_rows_estimate("audit_log") >= 51


@pytest.mark.django_db(transaction=True)
def test_tables_created_later_by_the_owner_are_the_applications_to_use():
    with db_roles.owner_connect() as owner:
        owner.execute("CREATE TABLE later_feature (id bigint GENERATED BY DEFAULT AS IDENTITY, "
                      "note text)")  # fmt: skip
    try:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO later_feature (note) VALUES ('a') RETURNING id")
            assert cursor.fetchone()[0] == 1
            cursor.execute("DELETE FROM later_feature")
        with (
            pytest.raises(DatabaseError, match="must be owner"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("DROP TABLE later_feature")
    finally:
        with db_roles.owner_connect() as owner:
            owner.execute("DROP TABLE later_feature")


@pytest.mark.django_db(transaction=True)
def test_the_owner_and_a_superuser_are_flagged_by_the_checks():
    with db_roles.as_owner():
        with connection.cursor() as cursor:
            role, problems = connection_role_problems(cursor)
        warnings = database_role_check()
    assert role == db_roles.suite_roles().owner.name
    assert any(p.startswith("owns ") and "of the platform's tables" in p for p in problems)
    assert "may UPDATE/DELETE/TRUNCATE audit_log" in problems
    assert [w.id for w in warnings] == ["riskplatform.W001"]
    assert f"The application's database role {role} " in warnings[0].msg


def test_migrate_refuses_the_application_role_in_production(settings):
    settings.RISKPLATFORM_ENV = "production"
    settings.DATABASE_MIGRATE_URL = ""
    with pytest.raises(CommandError, match="refusing to migrate as the application's role"):
        call_command("migrate", verbosity=0)


@pytest.mark.skipif(
    "DATABASE_URL" not in os.environ.get("RISKPLATFORM_EMBEDDED", ""),
    reason="the embedded PostgreSQL of the development launcher only",
)
def test_the_launcher_keeps_the_roles_passwords_like_the_secret_key():
    data = settings.BASE_DIR / ".data" / "test"  # bin/test's --data-dir
    for name in ("database_owner_password", "database_app_password"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(settings.DATABASE_MIGRATE_URL.replace(
            db_roles.suite_roles().owner.password, "wrong"), connect_timeout=5)  # fmt: skip
