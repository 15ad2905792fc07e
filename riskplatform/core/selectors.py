import os
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import connection

from riskplatform.celery import app
from riskplatform.core.db_roles import connection_role_problems

EMBEDDED_MARKER = "RISKPLATFORM_EMBEDDED"  # set by riskplatform/core/embedded.py
_EMBEDDED_WHAT = {
    "DATABASE_URL": "PostgreSQL",
    "REDIS_URL": "Redis",
    "SECRET_KEY": "SECRET_KEY (a key kept under .data/)",
}


@dataclass(frozen=True)
class Check:
    name: str
    state: str  # "ok", "down" or "warn"
    detail: str


def _ping_workers(*, timeout: float) -> tuple[list[str], str]:
    """Ping until a worker answers or `timeout` passes. A broadcast reaches only workers
    already listening, so a worker that is still starting needs another ping."""
    deadline = time.monotonic() + timeout
    reason = "no worker answered the ping"
    while True:
        try:
            replies = app.control.ping(timeout=1.0) or []
        except Exception as exc:  # a broker outage surfaces as several exception types
            replies, reason = [], str(exc)
        workers = sorted(name for reply in replies for name in reply)
        if workers or time.monotonic() >= deadline:
            return workers, reason


def _postgresql() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('server_version'), current_database(), current_user,"
                " inet_server_addr()::text, inet_server_port(), current_setting('port')"
            )
            version, database, user, address, tcp_port, port = cursor.fetchone()
    except Exception as exc:  # any failure means "down", with the reason shown
        return Check("postgresql", "down", str(exc).strip())
    # No server address: a Unix socket, in the directory the settings name.
    where = (
        f"{address.split('/')[0]}:{tcp_port}"
        if address
        else f"Unix socket in {connection.settings_dict['HOST'] or 'the default directory'},"
        f" port {port}"
    )
    return Check(
        "postgresql", "ok", f"PostgreSQL {version} at {where}, database {database}, user {user}"
    )


def _database_role() -> Check:
    """Whether this process's database role is the application's: no superuser, no owner of
    the platform's tables, no UPDATE, DELETE or TRUNCATE on the logs."""
    try:
        with connection.cursor() as cursor:
            role, problems = connection_role_problems(cursor)
    except Exception as exc:  # reported as down by the postgresql check already
        return Check("database role", "down", str(exc).strip())
    if problems:
        return Check("database role", "warn", f"{role} {'; '.join(problems)} "
                     '(docs/operations.md, "Security: database roles")')  # fmt: skip
    return Check("database role", "ok", f"{role}: owns no table, cannot change or empty the logs")


def _redis() -> Check:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
    kwargs = client.connection_pool.connection_kwargs
    where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
    try:
        info = client.info("server")
    except redis.RedisError as exc:
        return Check("redis", "down", f"{where}: {exc}")
    return Check(
        "redis", "ok", f"Redis {info['redis_version']} at {where}, database {kwargs.get('db', 0)}"
    )


def embedded_services() -> list[str]:
    """What the development launcher filled in for this process ([] in production)."""
    names = os.environ.get(EMBEDDED_MARKER, "").split(",")
    return [_EMBEDDED_WHAT[name] for name in _EMBEDDED_WHAT if name in names]


def platform_status(*, worker_timeout: float = 3.0) -> list[Check]:
    """Which PostgreSQL and Redis this process reached, whether a Celery worker answers, and
    a warning when any of them is a development server of the launcher."""
    checks = [_postgresql(), _redis()]
    if checks[0].state == "ok":
        checks.insert(1, _database_role())
    workers, reason = _ping_workers(timeout=worker_timeout)
    if workers:
        checks.append(
            Check("celery workers", "ok", f"{len(workers)} answered ping: {', '.join(workers)}")
        )
    else:
        checks.append(Check("celery workers", "down", reason))
    embedded = embedded_services()
    if embedded:
        checks.append(Check(
            "development servers", "warn",
            f"{', '.join(embedded)} from the development launcher (bin/run, bin/test, "
            "bin/manage), because the variables were unset; never for production",
        ))  # fmt: skip
    return checks
