"""bin/manage drill, run for real with tiny numbers: its table, its verdict, and nothing left
behind (riskplatform/drills/sandbox.py)."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from django.conf import settings

from riskplatform.drills.drill import RESULT_HEADER
from riskplatform.drills.sandbox import MARKER

pytestmark = [pytest.mark.celery_worker, pytest.mark.faults]


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A folder the drill's PostgreSQL can reach when run as root (it then runs as an
    unprivileged user, and pytest's own temporary folders are private to root)."""
    # A short name: a PostgreSQL socket's path may not exceed 107 bytes.
    folder = Path(tempfile.mkdtemp(prefix="rpd-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _drill(tmp_path: Path, *args: str) -> subprocess.Popen:
    # TMPDIR: the drill's sandbox folder is created inside tmp_path, to be looked for after.
    return subprocess.Popen(  # noqa: S603
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "drill", *args],
        cwd=settings.BASE_DIR, env={**os.environ, "TMPDIR": str(tmp_path)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _left_behind(tmp_path: Path) -> tuple[list[Path], list[str]]:
    folders = list(tmp_path.glob("riskplatform-drill-*"))
    processes = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.environ().get(MARKER, "").startswith(str(tmp_path)):
                processes.append(" ".join(process.cmdline()))
    return folders, processes


def test_the_drill_prints_a_passing_row_per_fault_and_leaves_nothing_behind(tmp_path):
    drill = _drill(tmp_path, "--patients", "600", "--chunk-size", "50", "--faults", "kill")
    output, _ = drill.communicate(timeout=240)
    assert drill.returncode == 0, output
    lines = output.splitlines()
    header = next(line for line in lines if line.startswith("fault ") and "verdict" in line)
    assert header.split() == " ".join(RESULT_HEADER).split()
    row = lines[lines.index(header) + 2].split()
    # kill -9 worker | expected | found | duplicates | missing | recover s | matches | verdict
    assert row[:3] == ["kill", "-9", "worker"]
    assert row[3:7] == ["1,800", "1,800", "0", "0"], output
    assert float(row[7]) > 0
    assert row[8:] == ["yes", "pass"], output
    assert "SCORING_LEASE_SECONDS" in output and "1 of 1 faults passed" in output
    assert _left_behind(tmp_path) == ([], [])


def test_an_interrupted_drill_stops_its_processes_and_deletes_its_folder(tmp_path):
    drill = _drill(tmp_path, "--patients", "600", "--chunk-size", "50", "--faults", "redis")
    # Once its servers, workers and beat run (the first census is far off), interrupt it.
    for line in drill.stdout:
        if line.startswith("prepared in"):
            break
    else:
        pytest.fail(f"the drill ended early (exit {drill.wait()})")
    folders, processes = _left_behind(tmp_path)
    assert len(folders) == 1 and processes  # the sandbox exists while it runs
    drill.send_signal(signal.SIGTERM)
    drill.communicate(timeout=120)
    assert drill.returncode == 130
    assert _left_behind(tmp_path) == ([], [])
