"""The drill's sandbox: it never meets a live platform, and leaves nothing behind.

`manage.py drill` re-runs itself as a child process with:

- DATABASE_URL and REDIS_URL naming servers that do not exist yet, on free ports of
  127.0.0.1: the child starts its own PostgreSQL (initdb into the sandbox folder) and Redis
  there (riskplatform/drills/postgres.py, servers.py), whatever the caller's URLs were;
- its own temporary folder (TMPDIR), holding those servers' data, the logs and every file;
- its own process group (the child, its workers, beats and web server), and the folder's
  path in RISKPLATFORM_DRILL, which every process it starts inherits.

Whatever ends the drill (success, a failed fault, an error, Ctrl-C, SIGTERM, a kill -9 of the
child), the parent stops the process group, then every process still carrying this drill's
RISKPLATFORM_DRILL (the servers run as daemons in sessions of their own: PostgreSQL first gets
SIGQUIT, its immediate shutdown), and deletes the folder.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from riskplatform.benchmarks.sandbox import process_group_stop
from riskplatform.core.net import free_port

MARKER = "RISKPLATFORM_DRILL"  # the sandbox folder; set in the child and all it starts
POSTGRES_PORT, REDIS_PORT = "RISKPLATFORM_DRILL_POSTGRES_PORT", "RISKPLATFORM_DRILL_REDIS_PORT"
DATABASE = "riskplatform"
STOP_SECONDS = 60
# Variables of the caller that would point the drill at other servers or roles.
_DROPPED = ("DATABASE_MIGRATE_URL", "RISKPLATFORM_EMBEDDED", "CELERY_BROKER_URL")


def inside_drill() -> bool:
    return bool(os.environ.get(MARKER))


def drill_folder() -> Path:
    return Path(os.environ[MARKER])


def drill_environment(folder: Path) -> dict[str, str]:
    postgres, redis = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    return {
        **env,
        MARKER: str(folder),
        "TMPDIR": str(folder),
        POSTGRES_PORT: str(postgres),
        REDIS_PORT: str(redis),
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{postgres}/{DATABASE}",
        "REDIS_URL": f"redis://127.0.0.1:{redis}/0",
        "PYTHONUNBUFFERED": "1",
    }


def run_in_drill_sandbox(command: list[str]) -> int:
    """Run `command` (the drill itself) in a sandbox; returns its exit code."""
    folder = Path(tempfile.mkdtemp(prefix="riskplatform-drill-"))
    # Run as root, PostgreSQL runs as an unprivileged user, which must reach its data folder.
    folder.chmod(0o755)
    child = None
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        child = subprocess.Popen(command, env=drill_environment(folder), start_new_session=True)  # noqa: S603
        return child.wait()
    except KeyboardInterrupt:
        # The child has a group of its own, so a terminal's Ctrl-C reached only this process.
        if child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(STOP_SECONDS)  # its own `finally` clauses stop the servers
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        if child is not None:
            process_group_stop(child.pid)
        tagged_processes_stop(folder)
        shutil.rmtree(folder, ignore_errors=True)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def tagged(folder: Path) -> list[psutil.Process]:
    """Processes (other than this one) started for the drill in `folder`."""
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.pid != os.getpid() and process.environ().get(MARKER) == str(folder):
                found.append(process)
    return found


def tagged_processes_stop(folder: Path, *, grace: float = 10.0) -> None:
    """Stop whatever the drill left running: PostgreSQL by SIGQUIT (immediate shutdown, which
    also frees its shared memory), the rest by SIGTERM, then SIGKILL after `grace` seconds."""
    for pidfile in folder.glob("*/data/postmaster.pid"):
        with contextlib.suppress(ValueError, OSError):
            os.kill(int(pidfile.read_text().split()[0]), signal.SIGQUIT)
    left = tagged(folder)
    for process in left:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(left, timeout=grace)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=grace)
    deadline = time.monotonic() + grace
    while tagged(folder) and time.monotonic() < deadline:
        time.sleep(0.1)
