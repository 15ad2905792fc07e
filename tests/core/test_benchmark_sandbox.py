"""Benchmarks cannot hijack a live platform: they run in a sandbox with their own Redis
database (so their worker never consumes the platform's queue), their own throwaway database,
temporary folder and process group, all cleaned up whatever happens to the run."""

import json
import os
import signal
import subprocess
import sys

import psutil
import psycopg
import pytest
import redis
from django.conf import settings
from django.core.management import CommandError, call_command

from riskplatform.benchmarks.sandbox import (
    SandboxUnavailable,
    benchmark_redis_url,
    run_in_sandbox,
)
from riskplatform.core.db import database_url

# A benchmark stand-in: what the real ones do (a database, temporary files, Redis keys, a
# worker-like grandchild in its group), then a crash or waiting to be interrupted.
RUN = """
import json, os, subprocess, sys, tempfile, time
import psycopg, redis
with psycopg.connect(os.environ["ADMIN_DATABASE_URL"], autocommit=True) as conn:
    conn.execute(f'CREATE DATABASE "{os.environ["RISKPLATFORM_BENCHMARK_DATABASE"]}"')
folder = tempfile.mkdtemp()
redis.Redis.from_url(os.environ["REDIS_URL"]).set("celery", "queued work")
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open(sys.argv[1], "w") as report:
    json.dump({"folder": folder, "grandchild": grandchild.pid, "tmp": tempfile.gettempdir(),
               "redis": os.environ["REDIS_URL"],
               "database": os.environ["RISKPLATFORM_BENCHMARK_DATABASE"]}, report)
if sys.argv[2] == "crash":
    os.kill(os.getpid(), 9)
time.sleep(600)
"""
PARENT = """
import sys
import django
django.setup()
from riskplatform.benchmarks.sandbox import run_in_sandbox
sys.exit(run_in_sandbox([sys.executable, "-c", sys.argv[1], sys.argv[2], "wait"]))
"""


def test_the_benchmark_redis_database_is_never_the_platforms(monkeypatch):
    assert benchmark_redis_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/14"
    assert benchmark_redis_url("redis://:pw@redis.internal:6380/14") == (
        "redis://:pw@redis.internal:6380/13"
    )
    assert benchmark_redis_url("redis://127.0.0.1:6379") == "redis://127.0.0.1:6379/14"
    monkeypatch.setenv("BENCHMARK_REDIS_DB", "3")
    assert benchmark_redis_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/3"
    with pytest.raises(SandboxUnavailable, match="the platform's own Redis database"):
        benchmark_redis_url("redis://127.0.0.1:6379/3")


def test_a_benchmark_outside_its_sandbox_refuses(db):
    with pytest.raises(CommandError, match="sandboxes them"):
        call_command("benchmark", "pages")


def _report(path):
    with open(path) as handle:
        return json.load(handle)


def _wait_for_report(path, process, timeout=60):
    from riskplatform.drills.postgres import wait_until

    wait_until(
        lambda: path.exists() and path.stat().st_size > 0,
        timeout=timeout,
        message=f"the stand-in wrote no report (exit code {process.poll()})",
    )


def _assert_cleaned(report) -> None:
    assert not os.path.exists(report["tmp"]) and not os.path.exists(report["folder"])
    assert not psutil.pid_exists(report["grandchild"]) or (
        psutil.Process(report["grandchild"]).status() == psutil.STATUS_ZOMBIE
    )
    assert redis.Redis.from_url(report["redis"]).dbsize() == 0
    with psycopg.connect(database_url(), autocommit=True) as conn:
        query = "SELECT count(*) FROM pg_database WHERE datname = %s"
        assert conn.execute(query, [report["database"]]).fetchone()[0] == 0


@pytest.mark.django_db(transaction=True)  # DROP DATABASE cannot run inside a transaction
def test_a_crashed_benchmark_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("ADMIN_DATABASE_URL", settings.DATABASE_MIGRATE_URL)  # may CREATEDB
    report_path = tmp_path / "report.json"
    code = run_in_sandbox([sys.executable, "-c", RUN, str(report_path), "crash"])
    assert code == -signal.SIGKILL
    report = _report(report_path)
    # Its own Redis database and temporary folder, not the platform's.
    assert report["redis"] == benchmark_redis_url(settings.REDIS_URL) != settings.REDIS_URL
    assert os.path.basename(report["tmp"]).startswith("riskplatform-benchmark-")
    _assert_cleaned(report)


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_benchmark_leaves_nothing_behind(tmp_path):
    report_path = tmp_path / "report.json"
    parent = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", PARENT, RUN, str(report_path)],
        cwd=settings.BASE_DIR,
        env={**os.environ, "ADMIN_DATABASE_URL": settings.DATABASE_MIGRATE_URL},
    )  # fmt: skip
    try:
        _wait_for_report(report_path, parent)
        parent.send_signal(signal.SIGINT)  # Ctrl-C (the child is in its own group)
        assert parent.wait(timeout=60) == 130
    finally:
        if parent.poll() is None:
            parent.kill()
    _assert_cleaned(_report(report_path))


@pytest.mark.django_db(transaction=True)
def test_a_sandboxed_process_queues_and_caches_in_the_benchmark_database(tmp_path):
    # What the realtime benchmark's web process and Celery worker read at start.
    out = tmp_path / "conf.json"
    script = (
        "import django, json, sys; django.setup(); from django.conf import settings; "
        "from riskplatform.celery import app; json.dump([app.conf.broker_url, "
        "settings.CACHES['default']['LOCATION']], open(sys.argv[1], 'w'))"
    )
    assert run_in_sandbox([sys.executable, "-c", script, str(out)]) == 0
    sandboxed = benchmark_redis_url(settings.REDIS_URL)
    assert json.loads(out.read_text()) == [sandboxed, sandboxed]
    assert sandboxed != settings.CELERY_BROKER_URL
