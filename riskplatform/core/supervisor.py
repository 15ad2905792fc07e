"""The platform's processes (web, worker, beat) and a supervisor that restarts one that dies.

serve_platform (bin/run) runs them through Supervisor. The commands are also what tests and
benchmarks start, so that they run the web server exactly as the platform does.
"""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

STOP_GRACE_SECONDS = 15
# A child that dies within QUICK_SECONDS of starting counts as a quick failure; after
# MAX_QUICK_FAILURES of those in a row the supervisor gives up (something is broken, such as
# a lost database or a bad setting, and restarting will not mend it).
QUICK_SECONDS = 30.0
MAX_QUICK_FAILURES = 5
BACKOFF_MAX_SECONDS = 10.0


def platform_commands(
    *, host: str, port: int, web_workers: int = 2, worker_concurrency: int = 2
) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "web": [
            python, "-m", "gunicorn", "riskplatform.wsgi",
            "--bind", f"{host}:{port}",
            "--workers", str(web_workers),
            "--access-logfile", "-",
        ],
        "worker": [
            python, "-m", "celery", "-A", "riskplatform", "worker",
            "--loglevel", "INFO", "--concurrency", str(worker_concurrency),
        ],
        "beat": [python, "-m", "celery", "-A", "riskplatform", "beat", "--loglevel", "INFO"],
    }  # fmt: skip


def web_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The web process's environment: one OpenMP thread per web process. With several
    workers on few cores, OpenMP's spinning threads starve each other (measured: 5x slower
    under 8 concurrent clients)."""
    env = dict(os.environ if base is None else base)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


@dataclass
class _Child:
    name: str
    command: list[str]
    env: dict[str, str] | None
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    quick_failures: int = 0
    restart_at: float = 0.0


class Supervisor:
    """Starts the children, restarts one that exits (with a short backoff: 1, 2, 4, 8, 10 s
    after quick failures in a row), and stops them all when asked or when a child keeps
    failing. Messages go to `say` in plain words."""

    def __init__(
        self,
        commands: dict[str, list[str]],
        *,
        say: Callable[[str], None],
        envs: dict[str, dict[str, str]] | None = None,
        quick_seconds: float = QUICK_SECONDS,
        max_quick_failures: int = MAX_QUICK_FAILURES,
    ) -> None:
        envs = envs or {}
        self.children = [_Child(name, cmd, envs.get(name)) for name, cmd in commands.items()]
        self.say = say
        self.quick_seconds = quick_seconds
        self.max_quick_failures = max_quick_failures
        self.stopping = threading.Event()

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)
        self.say("Started " + ", ".join(f"{c.name} (pid {c.process.pid})" for c in self.children))

    def alive(self, name: str) -> bool:
        child = next(c for c in self.children if c.name == name)
        return child.process is not None and child.process.poll() is None

    def request_stop(self, *_signal_args) -> None:
        """Usable as a signal handler: the supervising loop ends at its next tick."""
        self.stopping.set()

    def supervise(self, *, tick: float = 0.2) -> int:
        """Keep the children running until request_stop(); then stop them. Returns 0, or 1
        when a child kept failing and everything was stopped."""
        code = 0
        try:
            while not self.stopping.wait(tick):
                if not self._tend():
                    code = 1
                    break
        finally:
            self.stop()
        return code

    def _tend(self) -> bool:
        now = time.monotonic()
        for child in self.children:
            if child.process is None:
                if now >= child.restart_at:
                    self._spawn(child)
                    self.say(f"{child.name} restarted (pid {child.process.pid})")
                continue
            code = child.process.poll()
            if code is None:
                continue
            lived = now - child.started_at
            child.quick_failures = child.quick_failures + 1 if lived < self.quick_seconds else 1
            if child.quick_failures >= self.max_quick_failures:
                self.say(
                    f"{child.name} exited with code {code}, {child.quick_failures} times in a row "
                    f"within {self.quick_seconds:.0f} s of starting; giving up and stopping "
                    "the platform."
                )
                child.process = None
                return False
            child.restarts += 1
            delay = min(BACKOFF_MAX_SECONDS, 2.0 ** (child.quick_failures - 1))
            self.say(
                f"{child.name} exited with code {code}; restarting it "
                f"(restart {child.restarts}) in {delay:.0f} s"
            )
            child.process, child.restart_at = None, now + delay
        return True

    def _spawn(self, child: _Child) -> None:
        child.process = subprocess.Popen(child.command, env=child.env)  # noqa: S603
        child.started_at = time.monotonic()

    def stop(self) -> None:
        running = [c for c in self.children if c.process is not None]
        for child in running:
            if child.process.poll() is None:
                child.process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in running:
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{child.name} did not stop in time; killing it.")
                child.process.kill()
                child.process.wait()
