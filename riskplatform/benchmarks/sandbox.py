"""A sandbox for a benchmark run, so that it cannot touch a live platform beside it.

`manage.py benchmark …` re-runs itself as a child process inside the sandbox:

- its own Redis database number on the same server (BENCHMARK_REDIS_DB, default 14, or 13
  when the platform itself uses 14): broker queues, results, cache keys and worker pings of
  the benchmark's web process and Celery worker never meet the platform's. The database must
  be empty (a claim key marks it taken) and is emptied afterwards;
- its own throwaway PostgreSQL database with a unique name;
- its own temporary folder (TMPDIR), holding every file the benchmark writes;
- its own process group (the child, its web server and worker).

Whatever happens (success, error, Ctrl-C, SIGTERM, a crash of the child), the parent stops
the process group, drops the throwaway database if the child left it, empties the Redis
database and deletes the folder.
"""

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis
from django.conf import settings
from django.db import connection

SANDBOX_MARKER = "RISKPLATFORM_BENCHMARK_SANDBOX"  # set in the child: "already inside"
DATABASE_VARIABLE = "RISKPLATFORM_BENCHMARK_DATABASE"
CLAIM_KEY = "riskplatform:benchmark:claim"
CLAIM_SECONDS = 12 * 3600
STOP_SECONDS = 30


class SandboxUnavailable(RuntimeError):
    pass


def inside_sandbox() -> bool:
    return os.environ.get(SANDBOX_MARKER) == "1"


def benchmark_redis_url(platform_url: str) -> str:
    """The platform's Redis URL with the benchmark's database number instead."""
    parts = urlsplit(platform_url)
    if parts.scheme not in ("redis", "rediss"):
        raise SandboxUnavailable(f"benchmarks need a redis:// REDIS_URL, not {parts.scheme}://")
    platform_db = int(parts.path.strip("/") or 0)
    default = 13 if platform_db == 14 else 14
    number = int(os.environ.get("BENCHMARK_REDIS_DB", default))
    if number == platform_db:
        raise SandboxUnavailable(
            f"BENCHMARK_REDIS_DB={number} is the platform's own Redis database; pick another."
        )
    return urlunsplit(parts._replace(path=f"/{number}"))


def _claim(url: str) -> redis.Redis:
    """Take the benchmark's Redis database: empty, or held by a dead benchmark of this host."""
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    owner = f"{socket.gethostname()}:{os.getpid()}"
    holder = client.get(CLAIM_KEY)
    if holder is not None:
        host, _, pid = holder.decode().partition(":")
        if host != socket.gethostname() or _alive(int(pid)):
            raise SandboxUnavailable(f"another benchmark ({holder.decode()}) is using {url}")
        client.flushdb()  # left by a benchmark killed outright
    elif client.dbsize():
        raise SandboxUnavailable(
            f"{url} holds other data; set BENCHMARK_REDIS_DB to an empty Redis database."
        )
    if not client.set(CLAIM_KEY, owner, nx=True, ex=CLAIM_SECONDS):
        raise SandboxUnavailable(f"another benchmark claimed {url} just now")
    return client


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def benchmark_sandbox() -> Iterator[dict[str, str]]:
    """The child's environment; everything it points at is cleaned up on the way out."""
    redis_url = benchmark_redis_url(settings.REDIS_URL)
    claimed = _claim(redis_url)
    folder = Path(tempfile.mkdtemp(prefix="riskplatform-benchmark-"))
    database = f"{settings.DATABASES['default']['NAME']}_benchmark_{secrets.token_hex(3)}"[-63:]
    try:
        yield {
            **os.environ,
            SANDBOX_MARKER: "1",
            DATABASE_VARIABLE: database,
            "REDIS_URL": redis_url,
            "TMPDIR": str(folder),
        }
    finally:
        try:
            database_drop(database)
        except Exception as exc:  # cleanup goes on; the operator learns what is left
            sys.stderr.write(f"benchmark: could not drop database {database}: {exc}\n")
        with contextlib.suppress(redis.RedisError):
            claimed.flushdb()
        shutil.rmtree(folder, ignore_errors=True)


def database_drop(name: str) -> None:
    """Drop `name` if it exists, disconnecting whoever is still in it. Through the server's
    maintenance database, as Django's own test-database teardown does: the configured one may
    be the one being dropped, or not exist at all. As the databases' owner
    (DATABASE_MIGRATE_URL, when set): the application's role owns none."""
    from riskplatform.core.db_roles import owner_connection

    with owner_connection(connection), connection._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(name)} WITH (FORCE)")


def run_in_sandbox(command: list[str]) -> int:
    """Run `command` (the benchmark itself) inside a sandbox; returns its exit code."""
    with benchmark_sandbox() as env:
        child = subprocess.Popen(command, env=env, start_new_session=True)  # noqa: S603
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            return child.wait()
        except KeyboardInterrupt:
            # The child is in its own group (so that all of it can be stopped at once), so
            # the terminal's Ctrl-C reached only this process: pass it on.
            _group_signal(child.pid, signal.SIGINT)
            _wait(child, STOP_SECONDS)  # its own `finally` clauses run first
            return 130  # the shell's code for "interrupted"
        finally:
            signal.signal(signal.SIGTERM, previous)
            process_group_stop(child.pid)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _wait(child: subprocess.Popen, seconds: float) -> int | None:
    try:
        return child.wait(seconds)
    except subprocess.TimeoutExpired:
        return None


def _group_signal(pgid: int, signum: int) -> bool:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    return True


def process_group_stop(pgid: int, *, grace: float = 10.0) -> None:
    """Stop every process left in the group (a web server or worker the child did not stop):
    SIGTERM, then SIGKILL after `grace` seconds."""
    if not _group_signal(pgid, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _group_signal(pgid, 0):
            return
        time.sleep(0.1)
    _group_signal(pgid, signal.SIGKILL)
