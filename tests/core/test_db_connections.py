"""Connections that notice a dead peer: libpq's connect timeout and keepalives, and the
server-side session settings, reach the server from the settings; migrate alone runs without
the statement and idle-in-transaction timeouts."""

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.commands import migrate as migrate_command
from django.db import connection

from riskplatform.drills.postgres import PrivatePostgres
from tests.db_roles import suite_roles


def _show(cursor, name: str) -> str:
    cursor.execute(f"SHOW {name}")
    return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_app_connection_carries_the_session_timeouts():
    with connection.cursor() as cursor:
        assert _show(cursor, "idle_in_transaction_session_timeout") == "1min"
        assert _show(cursor, "statement_timeout") == "5min"
    libpq = connection.connection.info.get_parameters()
    assert {name: libpq.get(name) for name in (
        "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
        "keepalives_count", "tcp_user_timeout",
    )} == {
        "connect_timeout": "10", "keepalives": "1", "keepalives_idle": "30",
        "keepalives_interval": "10", "keepalives_count": "3", "tcp_user_timeout": "30000",
    }  # fmt: skip


def test_over_tcp_the_server_keeps_its_side_of_the_connection_alive_too():
    # The suite's own server may be on a Unix socket, where TCP settings read 0: connect the
    # app's connection parameters to a private server over TCP instead.
    with PrivatePostgres() as server:
        params = {**connection.get_connection_params(), "host": "127.0.0.1",
                  "port": server.port, "dbname": server.database,
                  "user": "postgres"}  # fmt: skip  # the private server has no app role
        params.pop("password", None)
        with psycopg.connect(**params) as conn, conn.cursor() as cursor:
            assert _show(cursor, "tcp_keepalives_idle") == "30"
            assert _show(cursor, "tcp_keepalives_interval") == "10"
            assert _show(cursor, "tcp_keepalives_count") == "3"
            assert _show(cursor, "tcp_user_timeout") == "30000"  # ms, shown without a unit
            assert _show(cursor, "statement_timeout") == "5min"


# Transactional: migrate reconnects as the schema's owner, which it cannot inside a transaction.
@pytest.mark.django_db(transaction=True)
def test_migrate_runs_without_the_timeouts_and_restores_them(monkeypatch):
    seen = {}
    emit = migrate_command.emit_pre_migrate_signal

    def record(*args, **kwargs) -> None:  # what migrate's own session looks like, mid-command
        with connection.cursor() as cursor:
            for name in ("statement_timeout", "idle_in_transaction_session_timeout"):
                seen[name] = _show(cursor, name)
            seen["user"] = _show(cursor, "session_authorization")
        emit(*args, **kwargs)

    monkeypatch.setattr(migrate_command, "emit_pre_migrate_signal", record)
    call_command("migrate", verbosity=0)
    assert seen == {"statement_timeout": "0", "idle_in_transaction_session_timeout": "0",
                    "user": suite_roles().owner.name}  # fmt: skip
    with connection.cursor() as cursor:  # the application's role again, with its timeouts
        assert _show(cursor, "statement_timeout") == "5min"
        assert _show(cursor, "session_authorization") == suite_roles().app.name
