"""Real Celery worker and beat processes for fault tests and the fault drill.

    with celery_worker(tmp_path, redis_url=broker.url, concurrency=2) as worker:
        worker.client.send_task("faults.note", args=[journal, "x"]).get(timeout=10)
        os.kill(worker.pool_pids()[0], signal.SIGKILL)      # or worker.signal(SIGSTOP)
        worker.wait_for_log("Connected to redis", count=2)
    with celery_beat(tmp_path) as beat: ...

Each process is `python -m celery -A riskplatform ...` run from the repository with the
project's settings, in a session of its own (a terminal's Ctrl-C does not reach it), and:

- DATABASE_URL: the current one (host, port, user) naming the database this process's
  connection uses (in a test, the one pytest-django created), so the process sees what was
  committed: in a test use `transactional_db` (or `django_db(transaction=True)`); a plain
  `db` test's rows stay inside its transaction;
- REDIS_URL: `redis_url`, by default the suite's broker (then `riskplatform.celery.app`
  reaches the process directly; purge the queue first if earlier tests may have left
  messages); `worker.client` is a Celery app on the given broker and result backend;
- `env`: anything else, e.g. {"SCORING_WORKERS": "1"}.

`include` names extra task modules to load (the tests' `tests.faults.tasks`, which
coordinate through files). A process runs in a session of its own unless `new_session` is
false (the drill keeps its processes in its own process group, to stop them all at once). It is
returned once it answers a ping to its own hostname, beat once it logs that it started. The
handles give `pid`, `pool_pids()` (the worker's prefork children), `family()`, `signal()`, the
log (`log_path`, `log()`, `wait_for_log()`, `wait_until()`), and put the log's tail into every
failure message. Teardown: SIGCONT (a stopped process would not act on SIGTERM), SIGTERM
(warm shutdown), after `shutdown_timeout` SIGKILL to whatever is left of the process and its
pool, and reap.
"""

import contextlib
import itertools
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import psutil
from celery import Celery
from django.conf import settings
from django.db import connection

REPOSITORY = Path(settings.BASE_DIR)
_numbers = itertools.count(1)


def database_url_current() -> str:
    """The current DATABASE_URL, naming the database the connection uses (in a test, the
    test database instead of the configured one)."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return parts._replace(path="/" + quote(connection.settings_dict["NAME"])).geturl()


def celery_client(redis_url: str) -> Celery:
    """A Celery app with the project's settings on another broker and result backend
    (close() it when done)."""
    client = Celery("riskplatform-drills", set_as_current=False)
    client.config_from_object("django.conf:settings", namespace="CELERY")
    client.conf.broker_url = client.conf.result_backend = redis_url
    return client


@dataclass
class CeleryProcess:
    """A started `celery` process and its log."""

    name: str
    popen: subprocess.Popen
    log_path: Path
    shutdown_timeout: float = 20.0

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def wait_for_log(self, pattern: str, *, count: int = 1, timeout: float = 30.0) -> None:
        """Wait until `pattern` (a regular expression) occurs `count` times in the log."""
        self.wait_until(lambda: len(re.findall(pattern, self.log())) >= count,
                        f"{count} x {pattern!r} in the log", timeout=timeout)  # fmt: skip

    def wait_until(self, condition, what: str, *, timeout: float = 30.0) -> None:
        """Poll `condition()` until it holds; fail with the log tail at the deadline, or as
        soon as the process has exited."""
        deadline = time.monotonic() + timeout
        while not condition():
            if not self.alive():
                self.fail(f"exited with {self.popen.returncode} while waiting for {what}")
            if time.monotonic() > deadline:
                self.fail(f"no {what} within {timeout} s")
            time.sleep(0.05)

    def fail(self, message: str):
        raise AssertionError(f"{self.name} (pid {self.pid}) {message}; log:\n{self.log_tail()}")

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def family(self) -> list[psutil.Process]:
        """The process and its descendants (the prefork pool), as far as they still run."""
        try:
            main = psutil.Process(self.pid)
            return [main, *main.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def terminate(self) -> None:
        """Warm shutdown, then SIGKILL to whatever is left of the process and its pool;
        always reaps. psutil refuses to signal a pid that was reused meanwhile."""
        family = self.family()
        if self.alive():
            for process in family:  # a stopped process would not act on SIGTERM
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.resume()
            self.popen.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=self.shutdown_timeout)
        # Pool children that outlive their parent would keep the test database open.
        family += [p for p in self.family() if p not in family]
        for process in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        self.popen.wait()
        psutil.wait_procs(family, timeout=10)


@dataclass
class CeleryWorker(CeleryProcess):
    hostname: str = ""
    client: Celery = field(default=None, repr=False)

    def pool_pids(self) -> list[int]:
        """The prefork pool's processes (they change when one dies and is replaced)."""
        try:
            return sorted(child.pid for child in psutil.Process(self.pid).children())
        except psutil.NoSuchProcess:
            return []

    def answers_ping(self, timeout: float = 1.0) -> bool:
        try:
            replies = self.client.control.ping(destination=[self.hostname], timeout=timeout)
        except Exception:  # a broker that is down surfaces as several exception types
            return False
        return any(self.hostname in reply for reply in replies or [])

    def wait_for_ping(self, *, timeout: float = 30.0) -> None:
        self.wait_until(self.answers_ping, "answer to ping", timeout=timeout)


def _environment(redis_url: str, env: dict[str, str] | None) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "riskplatform.settings",
        "DATABASE_URL": database_url_current(),
        "REDIS_URL": redis_url,
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }


def _start(command: list[str], environ: dict[str, str], log_path: Path, *,
           new_session: bool = True) -> subprocess.Popen:  # fmt: skip
    with open(log_path, "ab") as log:
        return subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "celery", "-A", "riskplatform", *command],
            cwd=REPOSITORY, env=environ, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=new_session,
        )  # fmt: skip


@contextlib.contextmanager
def celery_worker(
    directory: Path,
    *,
    redis_url: str | None = None,
    hostname: str | None = None,
    concurrency: int = 1,
    pool: str = "prefork",
    queues: str | None = None,
    include: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    new_session: bool = True,
    ready_timeout: float = 60.0,
    shutdown_timeout: float = 20.0,
) -> Iterator[CeleryWorker]:
    """A `celery worker` subprocess, returned once it answers a ping; its log is
    `directory/<hostname>.log`."""
    redis_url = redis_url or settings.CELERY_BROKER_URL
    number = next(_numbers)
    hostname = hostname or f"fault{number}-{os.getpid()}@localhost"
    log_path = Path(directory) / f"worker-{hostname.split('@')[0]}.log"
    command = ["worker", "--loglevel", "INFO", "--hostname", hostname, "--pool", pool,
               "--concurrency", str(concurrency)]  # fmt: skip
    if include:
        command += ["--include", ",".join(include)]
    if queues:
        command += ["--queues", queues]
    client = celery_client(redis_url)
    popen = _start(command, _environment(redis_url, env), log_path, new_session=new_session)
    worker = CeleryWorker(f"worker {hostname}", popen, log_path, shutdown_timeout,
                          hostname=hostname, client=client)  # fmt: skip
    try:
        worker.wait_for_ping(timeout=ready_timeout)
        yield worker
    finally:
        worker.terminate()
        client.close()


@contextlib.contextmanager
def celery_beat(
    directory: Path,
    *,
    redis_url: str | None = None,
    env: dict[str, str] | None = None,
    new_session: bool = True,
    ready_timeout: float = 60.0,
    shutdown_timeout: float = 10.0,
) -> Iterator[CeleryProcess]:
    """A `celery beat` subprocess (the project's DatabaseScheduler), returned once it has
    started; each has its own pid file, so two can run side by side."""
    redis_url = redis_url or settings.CELERY_BROKER_URL
    number = next(_numbers)
    log_path = Path(directory) / f"beat-{number}.log"
    pidfile = Path(directory) / f"beat-{number}.pid"
    command = ["beat", "--loglevel", "INFO", "--pidfile", str(pidfile)]
    popen = _start(command, _environment(redis_url, env), log_path, new_session=new_session)
    beat = CeleryProcess(f"beat {number}", popen, log_path, shutdown_timeout)
    try:
        beat.wait_for_log(r"beat: Starting\.\.\.", timeout=ready_timeout)
        yield beat
    finally:
        beat.terminate()
