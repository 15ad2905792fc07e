"""Coalesced view refresh for the real-time path (instead of the seed's trigger that rebuilt
every view on every insert).

Each newly scored patient calls `views_refresh_request` after its transaction commits. At most
one refresh task is pending at a time; it waits until no new request has come for
QUIET_SECONDS (at most MAX_WAIT_SECONDS under continuous arrivals), then refreshes once. A
burst of any size therefore costs one concurrent refresh, shortly after its last patient.

If Redis or the broker is down, the request fails fast and is only logged: the periodic
`finance.refresh_views_if_stale` task refreshes whenever a current prediction is newer than
the last refresh, so the views catch up when service returns.
"""

import functools
import logging
import time

import redis
from django.conf import settings
from django.db import connection

from finance.services import views_refresh

logger = logging.getLogger(__name__)
QUIET_SECONDS = 3.0
MAX_WAIT_SECONDS = 60.0
_PREFIX = "riskplatform:views-refresh:"
LAST_REQUEST, FIRST_REQUEST, SCHEDULED = (f"{_PREFIX}{k}" for k in ("last", "first", "scheduled"))


def _redis() -> redis.Redis:
    return _client(settings.REDIS_URL)


@functools.lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    # One client (and connection pool) per process, not one per scored patient.
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def views_refresh_request() -> bool:
    """Ask for a refresh soon. Returns whether a refresh task was (or already is) scheduled."""
    from finance.tasks import refresh_views_debounced_task

    now = time.time()
    try:
        pipe = _redis().pipeline(transaction=False)  # one round trip for the three
        pipe.set(LAST_REQUEST, now)
        pipe.set(FIRST_REQUEST, now, nx=True)
        pipe.set(SCHEDULED, 1, nx=True, ex=int(MAX_WAIT_SECONDS * 2))
        if pipe.execute()[2]:
            refresh_views_debounced_task.apply_async(
                countdown=QUIET_SECONDS, retry=False, ignore_result=True
            )
        return True
    except Exception as exc:  # Redis or broker down: the stale-views sweep takes over
        logger.warning("view refresh not scheduled (%s); the periodic sweep will do it", exc)
        return False


def views_refresh_when_quiet(*, changed_by: str) -> float | None:
    """Refresh if the requests have gone quiet (or waited long enough); otherwise return
    the seconds to wait before asking again."""
    client = _redis()
    now = time.time()
    last = float(client.get(LAST_REQUEST) or 0)
    first = float(client.get(FIRST_REQUEST) or now)
    quiet_for, waited = now - last, now - first
    if quiet_for < QUIET_SECONDS and waited < MAX_WAIT_SECONDS:
        return QUIET_SECONDS - quiet_for
    # Requests from here on schedule a new refresh: their rows may miss this one.
    client.delete(SCHEDULED, FIRST_REQUEST)
    views_refresh(changed_by=changed_by)
    return None


def views_are_stale() -> bool:
    """Whether a current prediction of the active version is newer than the last refresh."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (SELECT max(pr.prediction_timestamp) FROM predictions pr
                    JOIN model_versions mv ON mv.version = pr.model_version
                    WHERE mv.status = 'active')
                 > COALESCE((SELECT max(changed_at) FROM audit_log
                             WHERE event_type = 'VIEW_REFRESH'), '-infinity')
            """
        )
        return bool(cursor.fetchone()[0])
