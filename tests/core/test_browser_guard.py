"""CI never passes with the browser tests skipped: without Chromium the run stops."""

import os
import subprocess
import sys

from django.conf import settings


def _collect(**env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "tests/browser"],
        cwd=settings.BASE_DIR, env={**os.environ, **env}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def test_in_ci_a_missing_chromium_stops_the_run():
    missing = "/nonexistent/chromium"
    result = _collect(CI="true", RISKPLATFORM_CHROMIUM=missing)
    assert result.returncode != 0
    assert f"{missing} is missing and CI is set" in result.stdout + result.stderr


def test_outside_ci_a_missing_chromium_only_skips():
    result = _collect(CI="", RISKPLATFORM_CHROMIUM="/nonexistent/chromium")
    assert result.returncode == 0, result.stdout + result.stderr
