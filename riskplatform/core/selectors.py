import time

import redis
from django.conf import settings
from django.db import connection

from riskplatform.celery import app


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


def platform_status(*, worker_timeout: float = 3.0) -> dict[str, tuple[bool, str]]:
    """Whether PostgreSQL, Redis and at least one Celery worker answer, with a detail each."""
    status: dict[str, tuple[bool, str]] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            status["postgresql"] = (True, f"PostgreSQL {cursor.fetchone()[0]}")
    except Exception as exc:  # any failure means "down", with the reason shown
        status["postgresql"] = (False, str(exc).strip())
    try:
        info = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).info("server")
        status["redis"] = (True, f"Redis {info['redis_version']}")
    except redis.RedisError as exc:
        status["redis"] = (False, str(exc))
    workers, reason = _ping_workers(timeout=worker_timeout)
    if workers:
        status["celery workers"] = (True, f"{len(workers)} answered ping: {', '.join(workers)}")
    else:
        status["celery workers"] = (False, reason)
    return status
