"""End to end: the run command's launcher serves the admin login page, a worker answers a
ping, and SIGINT (Ctrl-C) stops web, worker and beat cleanly; a worker that dies is restarted,
and SIGINT sent to the launcher process alone stops everything too."""

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from django.conf import settings

from riskplatform.core.db import database_url
from riskplatform.core.net import free_port


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_serve_platform_starts_everything_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),  # the test database
        "RISKPLATFORM_DATA_DIR": str(tmp_path),
        "STATIC_ROOT": str(tmp_path / "static"),
        "ADMIN_USERNAME": "smoke-admin",
        "HTTPS": "0",
        "DEBUG": "0",
        "RISKPLATFORM_DEMO": "0",  # the demo load has its own test (tests/core/test_demo.py)
    }
    manage = [sys.executable, "manage.py"]
    server = subprocess.Popen(  # noqa: S603
        [*manage, "serve_platform", "--port", str(port), "--web-workers", "1"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            lines.append(line)
            if "running at" in line or server.poll() is not None:
                break
        assert f"running at http://127.0.0.1:{port}/workspace/" in "".join(lines), "".join(lines)
        assert server.stdout.readline().startswith(f"Admin site: http://127.0.0.1:{port}/admin/")
        login_line = server.stdout.readline()
        assert login_line.startswith("Admin login: smoke-admin / "), login_line
        assert (tmp_path / "admin_password").read_text() in login_line
        assert "created now" in login_line

        # The port opens before the gunicorn worker has booted: on a busy machine that takes time.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=60) as page:
            assert page.status == 200
            assert b"Log in | Risk platform" in page.read()

        status = subprocess.run(  # noqa: S603
            [*manage, "platform_status", "--timeout", "10"],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert status.returncode == 0, status.stdout + status.stderr
        assert "celery workers: 1 answered ping" in status.stdout
    finally:
        os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's group
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
    assert "Stopped web, worker and beat." in output


@pytest.mark.django_db
def test_the_admin_password_is_printed_on_the_start_that_creates_the_admin_only(tmp_path):
    from riskplatform.core.management.commands.serve_platform import admin_login_line
    from riskplatform.core.services import admin_user_ensure

    credentials = tmp_path / "admin_password"
    first = admin_user_ensure(username="first-admin", credentials_path=credentials)
    assert first and credentials.read_text() == first
    assert credentials.stat().st_mode & 0o777 == 0o600
    assert first in admin_login_line("first-admin", first, credentials)

    again = admin_user_ensure(username="first-admin", credentials_path=credentials)
    assert again is None
    line = admin_login_line("first-admin", again, credentials)
    assert line == f"Admin login: first-admin (password in {credentials})"
    assert first not in line


class _Lines:
    """The process's output, read in a thread, waited on line by line with a deadline."""

    def __init__(self, stream) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 90) -> re.Match:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if found := re.search(pattern, line):
                return found
        pytest.fail(f"no line matching {pattern!r} within {timeout} s:\n{''.join(self.seen)}")


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_dead_worker_is_restarted_and_sigint_to_the_launcher_stops_everything(tmp_path):
    import psutil

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "STATIC_ROOT": str(tmp_path / "static"),
        "RISKPLATFORM_DATA_DIR": str(tmp_path),
        "HTTPS": "0",
        "RISKPLATFORM_DEMO": "0",
    }
    launcher = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "riskplatform.core.embedded", "--quiet", "--data-dir",
         str(tmp_path), "--", sys.executable, "manage.py", "serve_platform", "--port",
         str(port), "--web-workers", "1", "--worker-concurrency", "1"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    output = _Lines(launcher.stdout)
    try:
        started = output.wait_for(
            r"Started web \(pid (\d+)\), worker \(pid (\d+)\), beat \(pid (\d+)\)"
        )
        web, worker, beat = (int(pid) for pid in started.groups())
        output.wait_for("running at")
        os.kill(worker, signal.SIGKILL)
        output.wait_for(r"worker exited with code -9; restarting it \(restart 1\)")
        new_worker = int(output.wait_for(r"worker restarted \(pid (\d+)\)").group(1))
        output.wait_for(r"celery@\S+ ready\.")  # the new worker consumes again
    finally:
        os.kill(launcher.pid, signal.SIGINT)  # `kill -INT <pid of bin/run>`: the launcher only
        launcher.wait(timeout=60)
    output.wait_for("Stopped web, worker and beat.", timeout=10)
    assert launcher.returncode == 0, "".join(output.seen)
    assert not any(psutil.pid_exists(pid) for pid in (web, new_worker, beat))


def test_a_child_that_keeps_failing_at_once_makes_the_supervisor_give_up():
    from riskplatform.core.supervisor import Supervisor

    said: list[str] = []
    failing = {"worker": [sys.executable, "-c", "raise SystemExit(3)"]}
    supervisor = Supervisor(failing, say=said.append, max_quick_failures=3)
    supervisor.start()
    assert supervisor.supervise(tick=0.05) == 1  # after backoffs of 1 s and 2 s
    assert [re.sub(r"pid \d+", "pid N", line) for line in said] == [
        "Started worker (pid N)",
        "worker exited with code 3; restarting it (restart 1) in 1 s",
        "worker restarted (pid N)",
        "worker exited with code 3; restarting it (restart 2) in 2 s",
        "worker restarted (pid N)",
        "worker exited with code 3, 3 times in a row within 30 s of starting; giving up and "
        "stopping the platform.",
    ]
