"""New patients through the HTTP endpoint: latency from submission to three stored
predictions, sequential and concurrent, and how soon after a burst the views show them."""

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

from patients.cohort import XTEST_COLUMNS, cohort_generate, cohort_write
from predictions.features import frame_prepare
from predictions.matviews import OrgTierSummary
from predictions.model_store import model_bundle_load
from predictions.services import model_version_activate, model_version_train
from riskplatform.core.api_auth import api_client_create
from riskplatform.core.db import database_url
from riskplatform.core.net import free_port, port_wait

ACTOR = "benchmark"


@dataclass(frozen=True)
class Latencies:
    label: str
    seconds: list[float]
    errors: int

    def percentile(self, p: float) -> float:
        return float(np.percentile(self.seconds, p)) * 1000 if self.seconds else float("nan")


@dataclass(frozen=True)
class RealtimeFigures:
    single_row_scoring_ms: float
    runs: list[Latencies]
    burst_patients: int
    views_current_after: float | None


def _payloads(count: int, prefix: str) -> list[str]:
    frame = cohort_generate(patients=count, seed=11, id_prefix=prefix)[list(XTEST_COLUMNS)]
    rows = frame.drop(columns=["department_code"]).to_dict("records")
    return [json.dumps({k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()})
            for r in rows]  # fmt: skip


def _post_all(port: int, token: str, bodies: list[str]) -> tuple[list[float], int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies, errors = [], 0
    for body in bodies:
        started = time.perf_counter()
        conn.request("POST", "/api/patients/", body=body, headers=headers)
        response = conn.getresponse()
        answer = json.loads(response.read())
        latencies.append(time.perf_counter() - started)
        if response.status != 201 or answer.get("scoring_status") != "scored":
            errors += 1
    conn.close()
    return latencies, errors


def realtime_benchmark(*, submissions: int, clients: int, web_workers: int, say=print):
    workdir = Path(tempfile.mkdtemp(prefix="riskplatform-rt-"))
    files = cohort_write(out_dir=workdir, patients=10, seed=3, training_patients=5000)
    model_version_train(version="v1.0", training_path=files.training, changed_by=ACTOR, seed=3)
    model_version_activate(version="v1.0", changed_by=ACTOR)
    bundle = model_bundle_load("v1.0")
    one = frame_prepare(cohort_generate(patients=1, seed=5)[list(XTEST_COLUMNS)])
    timings = []
    for _ in range(200):
        started = time.perf_counter()
        bundle.predict_risks(one)
        timings.append(time.perf_counter() - started)
    single_ms = statistics.median(timings) * 1000
    token = api_client_create(name="benchmark")[1]

    port = free_port()
    # REDIS_URL and TMPDIR are the sandbox's (riskplatform/benchmarks/sandbox.py): this web
    # process and worker share a Redis database with no live platform.
    env = {**os.environ, "DATABASE_URL": database_url(), "HTTPS": "0", "DEBUG": "0",
           "ALLOWED_HOSTS": "127.0.0.1", "STATIC_ROOT": str(workdir / "static"),
           "OMP_NUM_THREADS": "1"}  # fmt: skip
    processes: list[subprocess.Popen] = []
    try:
        web = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gunicorn", "riskplatform.wsgi", "--bind",
             f"127.0.0.1:{port}", "--workers", str(web_workers), "--log-level", "warning"],
            cwd=settings.BASE_DIR, env=env,
        )  # fmt: skip
        processes.append(web)
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "riskplatform", "worker", "--pool", "solo",
             "--loglevel", "WARNING"],
            cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL,
        ))  # fmt: skip
        if not port_wait("127.0.0.1", port, alive=lambda: web.poll() is None):
            raise RuntimeError("the web server did not start")
        _post_all(port, token, _payloads(20, "WARM"))  # each web worker loads the model once
        say(f"{submissions:,} sequential submissions…")
        sequential, errors = _post_all(port, token, _payloads(submissions, "SEQ"))
        runs = [Latencies("1 client, sequential", sequential, errors)]
        say(f"{submissions:,} submissions from {clients} concurrent clients…")
        bodies = _payloads(submissions, "CON")
        shares = [bodies[i::clients] for i in range(clients)]
        with ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(lambda share: _post_all(port, token, share), shares))
        burst_end = time.monotonic()
        concurrent = [s for seconds, _ in results for s in seconds]
        runs.append(Latencies(f"{clients} concurrent clients", concurrent,
                              sum(e for _, e in results)))  # fmt: skip
        expected = 20 + 2 * submissions
        views_after = _wait_for_views(expected, burst_end)
    finally:
        _stop(processes)
    return RealtimeFigures(single_ms, runs, submissions, views_after)


def _stop(processes: list[subprocess.Popen]) -> None:
    """Stop them all, whatever each does: a worker left running would consume tasks against a
    dropped database."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_views(expected: int, burst_end: float, limit: float = 60.0) -> float | None:
    while time.monotonic() - burst_end < limit:
        rows = OrgTierSummary.objects.filter(prediction_window="30_day")
        if sum(row.patient_count for row in rows) >= expected:
            return time.monotonic() - burst_end
        time.sleep(0.2)
    return None
