"""End to end: the run command's launcher serves the admin login page, a worker answers a
ping, and SIGINT (Ctrl-C) stops web, worker and beat cleanly."""

import os
import signal
import subprocess
import sys
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

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=10) as page:
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
