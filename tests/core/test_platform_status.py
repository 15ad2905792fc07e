"""platform_status says which PostgreSQL and Redis it reached and flags development servers
of the launcher, failing on them under RISKPLATFORM_ENV=production."""

import io

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import CommandError, call_command
from django.db import connection

from riskplatform.celery import app
from riskplatform.core.net import free_port
from riskplatform.core.selectors import platform_status

pytestmark = pytest.mark.celery_worker


@pytest.fixture
def worker(transactional_db):
    app.loader.import_module("celery.contrib.testing.tasks")  # registers celery.ping
    with start_worker(app, pool="solo", perform_ping_check=True, shutdown_timeout=30):
        yield


def _status(**options) -> tuple[str, str | None]:
    out = io.StringIO()
    try:
        call_command("platform_status", "--timeout", "10", stdout=out, **options)
    except CommandError as failure:
        return out.getvalue(), str(failure)
    return out.getvalue(), None


def test_it_names_the_servers_it_reached(worker, monkeypatch, settings):
    monkeypatch.delenv("RISKPLATFORM_EMBEDDED", raising=False)
    output, failure = _status()
    assert failure is None, output
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    db = connection.settings_dict
    lines = output.splitlines()
    assert lines[0].startswith(f"ok   postgresql: PostgreSQL {version} at ")
    assert lines[0].endswith(f", database {db['NAME']}, user {db['USER']}")
    assert str(db["PORT"]) in lines[0]
    # Without the password (the embedded Redis has one): redis://:<password>@host:port/db.
    server, database = settings.REDIS_URL.split("@")[-1].removeprefix("redis://").rsplit("/", 1)
    assert lines[1] == (
        f"ok   database role: {db['USER']}: owns no table, cannot change or empty the logs"
    )
    assert lines[2].startswith("ok   redis: Redis ")
    assert lines[2].endswith(f" at {server}, database {database}")
    assert lines[3].startswith("ok   celery workers: 1 answered ping")
    assert len(lines) == 4


def test_a_database_role_that_can_change_the_logs_warns_and_fails_in_production(
    worker, monkeypatch, settings
):
    from tests.db_roles import as_owner

    monkeypatch.delenv("RISKPLATFORM_EMBEDDED", raising=False)
    with as_owner():
        output, failure = _status()
        settings.RISKPLATFORM_ENV = "production"
        _, production_failure = _status()
    line = next(line for line in output.splitlines() if "database role" in line)
    assert line.startswith("WARN database role: ")
    assert "may UPDATE/DELETE/TRUNCATE audit_log" in line
    assert failure is None
    assert production_failure == (
        "RISKPLATFORM_ENV=production but the database role can do more than the application's "
        "should"
    )


def test_development_servers_warn_and_fail_in_production(worker, monkeypatch, settings):
    monkeypatch.setenv("RISKPLATFORM_EMBEDDED", "DATABASE_URL,REDIS_URL")
    output, failure = _status()
    assert failure is None
    assert output.splitlines()[-1] == (
        "WARN development servers: PostgreSQL, Redis from the development launcher (bin/run, "
        "bin/test, bin/manage), because the variables were unset; never for production"
    )
    settings.RISKPLATFORM_ENV = "production"
    output, failure = _status()
    assert failure == "RISKPLATFORM_ENV=production but development servers are in use"


def test_a_redis_that_does_not_answer_is_down(db, settings):
    port = free_port()
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    checks = {check.name: check for check in platform_status(worker_timeout=0)}
    assert checks["redis"].state == "down"
    assert checks["redis"].detail.startswith(f"127.0.0.1:{port}: ")
    assert checks["postgresql"].state == "ok"
