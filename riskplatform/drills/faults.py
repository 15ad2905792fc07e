"""The drill's faults: each scores a population run (or, for the API, takes submissions) with
real worker, beat and web processes, injects its fault mid-run and counts, in the database,
what the run left (riskplatform/drills/census.py). docs/operations.md, "Fault drill"."""

import contextlib
import os
import re
import signal
import time

import psutil
from django.db import connection

from riskplatform.drills.census import Census, run_census, version_census
from riskplatform.drills.drill import LEASE, SWEEP_EVERY, Drill, FaultResult
from riskplatform.drills.population import population_create, run_dispatched, run_planned
from riskplatform.drills.postgres import wait_until

SWEEP = "predictions.sweep_scoring_runs"


def _result(fault: str, census: Census, recover: float | None, note: str,
            *, ok: bool = True, patients: int | None = None) -> FaultResult:  # fmt: skip
    """One row; `patients`: how many should have been scored (default: those planned)."""
    expected = 3 * (census.planned if patients is None else patients)
    return FaultResult(
        fault=fault, expected=expected, found=census.current, duplicates=census.scored_twice,
        missing=census.missing, recover_seconds=recover, run_row_matches=census.run_row_matches,
        passed=ok and census.exact and census.current == expected,
        note=note if census.exact else f"{note}; census: {census}",
    )  # fmt: skip


def _census(run_id: int, version: str) -> Census:
    connection.close()  # the server may have been restarted under this connection
    with connection.cursor() as cursor:
        return run_census(cursor, run_id=run_id, version=version)


def _family_signal(worker, signum: int) -> None:
    for process in worker.family():
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signum)


def fault_kill(d: Drill) -> FaultResult:
    """kill -9 of every process of a worker host while it holds a chunk."""
    version = d.version("kill")
    run = run_planned(version=version, chunk_size=d.chunk_size)
    with d.worker("w1") as w1, d.worker("w2"):
        run_dispatched(run, copies=2)
        # Kill w1 while it holds a chunk and another chunk has been written (mid-run):
        # seen holding one, it is frozen and looked at again, then killed.
        deadline = time.monotonic() + 120
        while not (held := _frozen_holding(d, w1, run.pk)):
            if time.monotonic() > deadline or d.run_over(run.pk):
                raise RuntimeError("w1 never held a chunk mid-run")
            time.sleep(0.02)
        chunk_no, _, token = held[0]
        _family_signal(w1, signal.SIGKILL)
        killed = time.monotonic()
        sql = ("SELECT fencing_token, status FROM scoring_chunks WHERE run_id = %s "
               "AND chunk_no = %s")  # fmt: skip
        try:
            wait_until(lambda: d.query(sql, [run.pk, chunk_no])[0][0] > token,
                       timeout=LEASE + 120, every=0.1)  # fmt: skip
        except AssertionError as exc:
            state = d.query(sql, [run.pk, chunk_no])[0]
            raise AssertionError(f"chunk {chunk_no} of the dead w1 not taken over (token, "
                                 f"status: {state}, was {token})") from exc  # fmt: skip
        taken_over = time.monotonic() - killed
        ended = d.run_ended(run.pk) - killed
    holder = d.query("SELECT split_part(lease_holder, ':', 1) FROM scoring_chunks "
                     "WHERE run_id = %s AND chunk_no = %s", [run.pk, chunk_no])[0][0]  # fmt: skip
    note = (f"w1 killed holding chunk {chunk_no}; {holder} took it over {taken_over:.1f} s "
            f"later (lease {LEASE} s); run completed {ended:.1f} s after the kill")  # fmt: skip
    return _result("kill -9 worker", _census(run.pk, version), taken_over, note,
                   ok=holder == "w2@drill")  # fmt: skip


def _frozen_holding(d: Drill, worker, run_id: int) -> list:
    seen = d.held_by(run_id, "w1@drill") if d.chunks_done(run_id) else []
    if not seen:
        return []
    _family_signal(worker, signal.SIGSTOP)
    time.sleep(0.3)  # a commit already sent when it froze lands meanwhile
    held = d.held_by(run_id, "w1@drill")
    if not held or held[0] != seen[0]:
        held = []
        _family_signal(worker, signal.SIGCONT)
    return held


def fault_pause(d: Drill) -> FaultResult:
    """SIGSTOP of the process holding a chunk, past its lease, then SIGCONT."""
    version = d.version("pause")
    run = run_planned(version=version, chunk_size=d.chunk_size)
    barrier = d.postgres.connect(autocommit=False)
    try:
        with d.worker("w1") as w1, d.worker("w2"):
            # Hold every claimer inside its feature read (after its claim, before its writing
            # transaction) by locking the features table, so the pause lands between the two.
            # Locked before the workers start: small chunks are written faster than a poll.
            barrier.execute("LOCK TABLE patient_features IN ACCESS EXCLUSIVE MODE")
            run_dispatched(run, copies=2)
            try:
                wait_until(lambda: _all_holders_wait(d, run.pk), timeout=120, every=0.1)
            except AssertionError as exc:
                state = d.query("SELECT chunk_no, status, lease_holder FROM scoring_chunks "
                                "WHERE run_id = %s AND status <> 'done'", [run.pk])  # fmt: skip
                locks = d.query("SELECT pid, mode, granted FROM pg_locks "
                                "WHERE relation = 'patient_features'::regclass")  # fmt: skip
                raise AssertionError(f"w1 not blocked in its feature read: chunks {state}, "
                                     f"locks {locks}") from exc  # fmt: skip
            chunk_no, holder, token = d.held_by(run.pk, "w1@drill")[0]
            pid = int(holder.split(":")[1])
            os.kill(pid, signal.SIGSTOP)  # the process that holds the lease, mid-chunk
            paused = time.monotonic()
            barrier.rollback()  # its read completes into a paused process
            sql = "SELECT fencing_token FROM scoring_chunks WHERE run_id = %s AND chunk_no = %s"
            wait_until(lambda: d.query(sql, [run.pk, chunk_no])[0][0] > token,
                       timeout=LEASE + 120, every=0.1,
                       message="the paused worker's chunk taken over")  # fmt: skip
            taken_over = time.monotonic() - paused
            ended = d.run_ended(run.pk) - paused
            os.kill(pid, signal.SIGCONT)
            refused = (
                rf"chunk {chunk_no} of run {run.pk} was reclaimed \(token {token}, .*write refused"
            )
            w1.wait_for_log(refused, timeout=120)
    finally:
        barrier.close()
    line = re.search(rf"chunk {chunk_no} of run {run.pk} was reclaimed.*", w1.log()).group(0)
    note = (f"w1's process {pid} paused holding chunk {chunk_no}; taken over "
            f"{taken_over:.1f} s later; run completed {ended:.1f} s after the pause; after "
            f"SIGCONT: {line.strip()}")  # fmt: skip
    return _result("SIGSTOP past lease", _census(run.pk, version), taken_over, note)


def _all_holders_wait(d: Drill, run_id: int) -> bool:
    if not d.held_by(run_id, "w1@drill"):
        return False
    running = d.query("SELECT count(*) FROM scoring_chunks WHERE run_id = %s "
                      "AND status = 'running'", [run_id])[0][0]  # fmt: skip
    waiting = d.query("SELECT count(*) FROM pg_locks WHERE NOT granted "
                      "AND relation = 'patient_features'::regclass")[0][0]  # fmt: skip
    return waiting >= running


def fault_postgres(d: Drill) -> FaultResult:
    """PostgreSQL stopped (immediate: a crash) for `outage` seconds mid-run."""
    version = d.version("postgres")
    run = run_planned(version=version, chunk_size=d.chunk_size)
    d.schedule([SWEEP], every=SWEEP_EVERY)
    with d.worker("w1"), d.worker("w2"), d.beat():
        run_dispatched(run, copies=2)
        d.warmed_up(run)
        d.postgres.stop()
        connection.close()
        time.sleep(d.outage)  # the outage itself
        d.postgres.start()
        back = time.monotonic()
        ended = d.run_ended(run.pk) - back
    note = f"down {d.outage} s; the run resumed by itself and completed {ended:.1f} s after"
    return _result(f"PostgreSQL down {d.outage} s", _census(run.pk, version), ended, note)


def fault_redis(d: Drill) -> FaultResult:
    """Redis restarted mid-run (it keeps its data: SHUTDOWN saves it)."""
    version = d.version("redis")
    run = run_planned(version=version, chunk_size=d.chunk_size)
    d.schedule([SWEEP], every=SWEEP_EVERY)
    with d.worker("w1") as w1, d.worker("w2") as w2, d.beat():
        pids = {w1.pid, w2.pid}
        run_dispatched(run, copies=2)
        d.warmed_up(run)
        restarted = time.monotonic()
        d.redis.restart()
        ended = d.run_ended(run.pk) - restarted
        survived = w1.alive() and w2.alive() and {w1.pid, w2.pid} == pids
    note = (f"run completed {ended:.1f} s after the restart; both workers "
            f"{'kept running (same pids)' if survived else 'did NOT survive'}")  # fmt: skip
    return _result("Redis restart", _census(run.pk, version), ended, note, ok=survived)


def fault_beats(d: Drill) -> FaultResult:
    """Two beats at once, each sending score_pending and the sweep every second, while
    patients keep arriving unscored (as from an import)."""
    from predictions.scoring import patients_needing_score

    version = d.version("beats", activate=True)  # the whole population now awaits a score
    d.schedule(["predictions.score_pending", SWEEP], every=1)
    arrived = 0
    with d.worker("w1") as w1, d.worker("w2") as w2, d.beat(), d.beat():
        deadline = time.monotonic() + d.beats_seconds
        while time.monotonic() < deadline:
            arrived += len(population_create(max(10, d.patients // 50), prefix="ARR"))
            time.sleep(2)
        last = time.monotonic()
        wait_until(lambda: not patients_needing_score(version=version) and not _unfinished(d),
                   timeout=600, every=0.5, message="every patient scored")  # fmt: skip
        settled = time.monotonic() - last
        skipped = sum(w.log().count("already running elsewhere; skipped") for w in (w1, w2))
    connection.close()
    with connection.cursor() as cursor:
        census = version_census(cursor, version=version)
        cursor.execute("SELECT count(*) FROM patients")
        patients = cursor.fetchone()[0]
    note = (f"{d.beats_seconds} s of two beats; {arrived:,} patients arrived meanwhile; "
            f"{skipped} overlapping sweeps turned away by the lock; all scored {settled:.1f} s "
            "after the last arrival")  # fmt: skip
    return _result("two beats", census, settled, note, patients=patients)


def _unfinished(d: Drill) -> bool:
    return d.query("SELECT EXISTS (SELECT 1 FROM scoring_runs WHERE status IN "
                   "('pending', 'running'))")[0][0]  # fmt: skip


API_BODY = {
    "age": "72", "gender": "F", "race": "White", "annual_cost": "12000.00", "is_elderly": "1",
    "has_alzheimers": "1", "has_chf": "2", "has_ckd": "1", "has_cancer": "1", "has_copd": "1",
    "has_depression": "1", "has_diabetes": "2", "has_ischemic_heart": "1", "has_ra_oa": "1",
    "has_stroke": "1", "total_admissions_2008": "1.00", "total_hospital_days_2008": "4.00",
    "days_since_last_admission": "120.00", "recent_admission": "0",
    "total_outpatient_visits_2008": "6.00", "high_outpatient_user": "0",
    "total_annual_cost": "12000.00", "cost_percentile": "0.500", "high_cost": "0",
    "total_inpatient_cost": "8000.00", "frailty_score": "0.2500", "complexity_index": "1.5000",
}  # fmt: skip


def fault_api(d: Drill) -> FaultResult:
    """A submission to the API (gunicorn) while PostgreSQL is stopped, retried with the same
    Idempotency-Key once it is back."""
    from riskplatform.core.api_auth import api_client_create
    from riskplatform.drills.web import api_post, web_server

    token = api_client_create(name="drill")[1]
    body = {**API_BODY, "external_id": "DRILL-API-1"}
    problems = []
    with web_server(database_url=d.postgres.url, folder=d.folder) as port:
        warm = api_post(port, "/api/patients/", {**API_BODY, "external_id": "DRILL-API-0"},
                        token=token)  # fmt: skip
        if warm[0] != 201:
            problems.append(f"warm-up answered {warm[0]}")
        d.postgres.stop()
        connection.close()
        try:
            status, headers, _ = api_post(port, "/api/patients/", body, token=token,
                                          key="drill-1")  # fmt: skip
            outage = (
                f"{status} {headers.get('Content-Type')}, Retry-After {headers.get('Retry-After')}"
            )
            if status != 503 or "Retry-After" not in headers:
                problems.append(f"during the outage: {outage}")
        except AssertionError as exc:  # an answer that is not JSON
            outage = str(exc)[:120]
            problems.append(outage)
        d.postgres.start()
        back = time.monotonic()
        answers = []
        while time.monotonic() - back < 60 and not answers:
            answer = api_post(port, "/api/patients/", body, token=token, key="drill-1")
            if answer[0] == 201:
                answers.append(answer)
            else:
                time.sleep(0.5)
        recovered = time.monotonic() - back
        if not answers:
            problems.append("no 201 within 60 s of the database's return")
        again = api_post(port, "/api/patients/", body, token=token, key="drill-1")
        if answers and (again[0], again[2]) != (201, answers[0][2]):
            problems.append(f"the second retry answered differently: {again[0]}")
    found = d.query("SELECT count(*) FROM patients WHERE external_id = %s", ["DRILL-API-1"])[0][0]
    note = (
        f"during the stop: {outage}; the retry (same Idempotency-Key) saved it "
        f"{recovered:.1f} s after the database was back; a second retry got the same answer"
    )
    if problems:
        note = "; ".join(problems)
    return FaultResult(
        fault="API, database stopped", expected=1, found=found, duplicates=max(0, found - 1),
        missing=int(found == 0), recover_seconds=recovered, run_row_matches=None,
        passed=not problems and found == 1, note=note,
    )  # fmt: skip


FAULTS = {
    "kill": fault_kill,
    "pause": fault_pause,
    "postgres": fault_postgres,
    "redis": fault_redis,
    "beats": fault_beats,
    "api": fault_api,
}
# The table's name of each fault (also for the row of a fault that raised).
TITLES = {
    "kill": "kill -9 worker", "pause": "SIGSTOP past lease", "postgres": "PostgreSQL down",
    "redis": "Redis restart", "beats": "two beats", "api": "API, database stopped",
}  # fmt: skip
