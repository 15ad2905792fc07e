"""PostgreSQL advisory locks for work that must not run twice at once (two beats, or a
periodic task that outlasts its interval), and a heartbeat thread for leases.

`advisory_lock` is a session lock on the caller's connection, tried without waiting: it is
released when the work ends, and by PostgreSQL itself when the holder's session ends
(process killed, connection cut and noticed by TCP keepalives), so a dead holder never keeps
it. `advisory_xact_lock` waits for its turn and is held until the transaction ends (work
that must run one after the other, such as two imports of the same patients).
"""

import contextlib
import functools
import hashlib
import logging
import threading
from collections.abc import Callable, Iterator

import psycopg
from django.db import DatabaseError, OperationalError, connection, connections

logger = logging.getLogger(__name__)


def _key(name: str) -> int:
    # A stable signed 64-bit key per name (Python's hash() changes between processes).
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def advisory_lock(name: str) -> Iterator[bool]:
    """Try to take the lock `name` without waiting; yield whether it was taken."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_key(name)])
        taken = cursor.fetchone()[0]
    try:
        yield taken
    finally:
        if taken:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [_key(name)])
            except DatabaseError:  # the session is gone, and the lock with it
                logger.warning("advisory lock %s: session lost before unlock", name)


class LockWaitTimeout(Exception):
    """The statement timeout ended the wait for a lock another session holds."""


def advisory_xact_lock(name: str) -> None:
    """Wait for the lock `name`; it is held until the current transaction commits or rolls
    back. Only inside `transaction.atomic()`: in autocommit it would be released at once.
    The wait counts against the statement timeout (LockWaitTimeout)."""
    if not connection.in_atomic_block:
        raise RuntimeError(f"advisory_xact_lock({name!r}) needs a transaction")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_key(name)])
    except OperationalError as exc:
        if isinstance(exc.__cause__, psycopg.errors.QueryCanceled):
            raise LockWaitTimeout(
                f"waited for {name} until the statement timeout: another session holds it"
            ) from exc
        raise


def advisory_lock_held(name: str) -> bool:
    """Whether any session holds the lock `name` now (for tests and status pages)."""
    unsigned = _key(name) & 0xFFFFFFFFFFFFFFFF  # pg_locks splits the key into two oids
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 1)",
            [unsigned >> 32, unsigned & 0xFFFFFFFF],
        )
        return cursor.fetchone()[0]


def one_at_a_time(name: str) -> Callable:
    """Decorate a periodic task body: run it only if no other process is running it now;
    otherwise return {"skipped": ...} at once (the running copy does the work)."""

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with advisory_lock(name) as taken:
                if not taken:
                    logger.info("%s is already running elsewhere; skipped", name)
                    return {"skipped": f"{name} is already running"}
                return function(*args, **kwargs)

        return wrapper

    return decorate


class Heartbeat:
    """Call `beat()` every `interval` seconds on a thread with its own database connection
    until the block ends or `beat()` returns False (the lease is lost). A paused process
    pauses its heartbeat too, which is what lets its lease expire."""

    def __init__(self, beat: Callable[[], bool], *, interval: float) -> None:
        self.beat, self.interval = beat, interval
        self.stopped = threading.Event()
        self.lost = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()

    def _run(self) -> None:
        try:
            while not self.stopped.wait(self.interval):
                try:
                    if not self.beat():
                        self.lost.set()
                        return
                except DatabaseError as exc:  # try again next beat; the lease may still hold
                    logger.warning("heartbeat failed: %s", exc)
                    connections["default"].close()
        finally:
            connections["default"].close()  # this thread's own connection
