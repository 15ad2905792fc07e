"""Population runs made of chunks that any worker can take (docs/operations.md,
"Population runs: chunks, leases and fencing").

A run is planned once: the patients needing a score are cut into chunk rows in one
statement. Workers anywhere claim chunks (`SELECT … FOR UPDATE SKIP LOCKED`) under a lease
they renew while scoring; a chunk whose holder stops renewing is taken over once its lease
ends, and the old holder's write is refused by the fencing check. A chunk's predictions,
projections, its done mark and the run's counts commit in one transaction. The run ends
when its last chunk does, whoever is there to see it; the beat's sweep plans, ends or asks
for workers for any run that nobody is moving.
"""

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from threadpoolctl import threadpool_limits

from predictions.model_store import WINDOWS, ModelIntegrityError, model_bundle_load
from predictions.models import (
    UNFINISHED,
    ChunkStatus,
    ModelStatus,
    ModelVersion,
    RunStatus,
    ScoringChunk,
    ScoringRun,
)
from predictions.scoring import NEEDS_SCORE_SQL, patients_predict, predictions_record
from predictions.scoring_chunks import (
    Claim,
    LeaseLost,
    chunk_claim,
    chunk_complete,
    chunk_fence,
    chunk_release,
    chunk_renew,
    chunks_fail_exhausted,
    chunks_state,
    lease_holder_name,
)
from riskplatform.core.db import GrowthAnalyzer, tables_analyze
from riskplatform.core.locks import Heartbeat
from riskplatform.core.models import AuditEvent
from riskplatform.core.services import audit_event_record

logger = logging.getLogger(__name__)
Progress = Callable[[ScoringRun], None]
ONE_UNFINISHED = "scoring_runs_one_unfinished_per_version"
_COUNTS = ("patients_scored", "predictions_written", "projections_written",
           "seconds_scoring", "seconds_writing", "seconds_projecting")  # fmt: skip


def scoring_run_create(
    *,
    version: str,
    changed_by: str,
    chunk_size: int = 5000,
    scored_as_of: datetime | None = None,
    compare_with: str | None = None,
) -> ScoringRun:
    """A new run of `version`, or its unfinished one: PostgreSQL allows a version one
    unfinished run, so a second scheduler joins it instead of planning the same patients
    again. `scored_as_of` back-tests: the predictions are dated at that past moment, so
    their windows can be judged against the admissions that followed (the demo uses it)."""
    ModelVersion.objects.get(version=version)  # a clear DoesNotExist for an unknown label
    if scored_as_of is not None and scored_as_of > timezone.now():
        raise ValueError("scored_as_of must not be in the future")
    for _ in range(3):  # the unfinished run may end between the refusal and the lookup
        try:
            with transaction.atomic():
                return ScoringRun.objects.create(
                    model_version_id=version, chunk_size=chunk_size, created_by=changed_by,
                    scored_as_of=scored_as_of, compare_with_id=compare_with,
                )  # fmt: skip
        except IntegrityError as exc:
            if getattr(exc.__cause__.diag, "constraint_name", None) != ONE_UNFINISHED:
                raise
        existing = ScoringRun.objects.filter(
            model_version_id=version, status__in=UNFINISHED
        ).first()
        if existing is None:
            continue
        if existing.scored_as_of != scored_as_of:
            raise ValueError(
                f"run {existing.pk} of {version} is unfinished and dated differently "
                f"({existing.scored_as_of or 'now'}); let it finish first"
            )
        return existing
    raise RuntimeError(f"could not create or join a run of {version}")


@transaction.atomic
def scoring_run_plan(*, run_id: int) -> ScoringRun:
    """Cut a pending run's patients into chunk rows (one statement) and mark it running;
    a run already planned is returned as it is."""
    run = ScoringRun.objects.select_for_update(of=("self",)).select_related("model_version")
    run = run.get(pk=run_id)
    if run.status != RunStatus.PENDING:
        return run
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO scoring_chunks (
                run_id, chunk_no, patient_ids, status, attempts, fencing_token,
                patients_scored, predictions_written, projections_written,
                seconds_scoring, seconds_writing, seconds_projecting, error)
            SELECT %(run)s, (n - 1) / %(size)s, array_agg(patient_id ORDER BY patient_id),
                   'pending', 0, 0, 0, 0, 0, 0, 0, 0, ''
            FROM (SELECT s.patient_id, row_number() OVER (ORDER BY s.patient_id) AS n
                  FROM ({NEEDS_SCORE_SQL}) s) numbered
            GROUP BY (n - 1) / %(size)s
            RETURNING cardinality(patient_ids)
            """,
            {"run": run_id, "size": run.chunk_size, "version": run.model_version_id,
             "windows": len(WINDOWS)},
        )  # fmt: skip
        sizes = [row[0] for row in cursor.fetchall()]
    _status_move(
        run, RunStatus.RUNNING, started_at=timezone.now(), patients_total=sum(sizes),
        chunks_total=len(sizes),
    )  # fmt: skip
    return run


def scoring_run_dispatch(*, run_id: int, copies: int | None = None) -> None:
    """Ask workers through the broker to take part in the run, once the caller's transaction
    commits. The message only wakes workers: the chunk rows are the truth, so a lost
    message costs a sweep interval, never work."""
    copies = copies or settings.SCORING_RUN_TASKS
    ScoringRun.objects.filter(pk=run_id).update(dispatched_at=timezone.now())
    transaction.on_commit(lambda: _ask_workers(run_id, copies))


def _ask_workers(run_id: int, copies: int) -> None:
    from predictions.tasks import score_run_task

    try:
        for _ in range(copies):
            score_run_task.apply_async(args=[run_id], retry=False)
    except Exception as exc:  # broker down: the sweep asks again once it is back
        logger.warning("run %s: workers not asked (%s); the sweep will ask again", run_id, exc)


@dataclass(frozen=True)
class WorkDone:
    run: ScoringRun
    chunks: int  # chunks this call wrote
    ended: bool  # this call ended the run
    budget_spent: bool = False


def scoring_run_work(
    *,
    run_id: int,
    holder: str | None = None,
    wait: bool = True,
    budget_seconds: float | None = None,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> WorkDone:
    """Take part in a run: claim its chunks one at a time and score them until none is left.
    With `wait`, stay while other holders' chunks are unfinished, to take over any whose
    lease runs out; end the run when its last chunk has ended. A chunk that raises is given
    back (it is retried after a backoff, up to SCORING_CHUNK_MAX_ATTEMPTS) and the error
    propagates."""
    holder = holder or lease_holder_name()
    stop = stop or threading.Event()
    run = scoring_run_plan(run_id=run_id)
    if run.status != RunStatus.RUNNING:
        return WorkDone(run, 0, False)
    try:
        bundle = model_bundle_load(run.model_version_id, run.model_version.artifact_sha256)
    except ModelIntegrityError as exc:  # no retry can help: the run ends here, saying why
        scoring_run_fail(run_id=run_id, error=f"{type(exc).__name__}: {exc}")
        raise
    deadline = time.monotonic() + budget_seconds if budget_seconds else None
    poll = min(5.0, settings.SCORING_LEASE_SECONDS / 4)
    analyzer = GrowthAnalyzer("predictions", "financial_projections")
    written = 0
    while not stop.is_set():
        if deadline is not None and time.monotonic() > deadline:
            return WorkDone(run, written, False, budget_spent=True)
        claim = chunk_claim(
            run_id=run_id, holder=holder, lease_seconds=settings.SCORING_LEASE_SECONDS,
            max_attempts=settings.SCORING_CHUNK_MAX_ATTEMPTS,
        )  # fmt: skip
        if claim is not None:
            if _chunk_score(claim=claim, run=run, bundle=bundle):
                written += 1
                analyzer.added_rows(len(claim.patient_ids) * len(WINDOWS))
            if progress:
                progress(ScoringRun.objects.get(pk=run_id))
            continue
        chunks_fail_exhausted(run_id=run_id, max_attempts=settings.SCORING_CHUNK_MAX_ATTEMPTS)
        state = chunks_state(run_id=run_id)
        if state.unfinished == 0:
            run, ended = _finish(run_id)
            return WorkDone(run, written, ended)
        if not wait:
            break
        # Nothing to claim now: others hold the rest, or it waits out a backoff.
        soonest = poll if state.seconds_to_next is None else min(poll, state.seconds_to_next)
        stop.wait(soonest + 0.05)
    return WorkDone(ScoringRun.objects.get(pk=run_id), written, False)


def _chunk_score(*, claim: Claim, run: ScoringRun, bundle) -> int:
    """Score a claimed chunk and write it under the fencing check; 1 if written, 0 if the
    lease was lost first (the chunk is someone else's now)."""
    lease = settings.SCORING_LEASE_SECONDS
    # Inside a caller's transaction (tests) no other connection sees the claim to renew it.
    heartbeat = (
        contextlib.nullcontext()
        if connection.in_atomic_block
        else Heartbeat(lambda: chunk_renew(claim=claim, lease_seconds=lease), interval=lease / 3)
    )
    try:
        with heartbeat:  # reads and inference only: no transaction, no lock held
            predicted = patients_predict(
                ids=claim.patient_ids, bundle=bundle, thresholds=run.model_version.tier_thresholds
            )
        with transaction.atomic():
            chunk_fence(claim=claim)
            scored = predictions_record(
                predicted=predicted, version=run.model_version_id, actor=run.created_by,
                scored_as_of=run.scored_as_of,
            )  # fmt: skip
            chunk_complete(claim=claim, scored=scored)
        return 1
    except LeaseLost as lost:
        logger.warning("%s", lost)
        return 0
    except BaseException as exc:
        _give_back(claim, exc)
        raise


def _give_back(claim: Claim, exc: BaseException) -> None:
    # An interruption (Ctrl-C, shutdown) is not the chunk's fault: claimable again at once.
    interrupted = not isinstance(exc, Exception)
    backoff = 0.0 if interrupted else min(
        settings.SCORING_RETRY_BACKOFF_MAX_SECONDS,
        settings.SCORING_RETRY_BACKOFF_SECONDS * 2 ** (claim.attempts - 1),
    )  # fmt: skip
    try:
        chunk_release(claim=claim, error=f"{type(exc).__name__}: {exc}", backoff_seconds=backoff)
    except DatabaseError as db_error:  # the lease runs out instead
        logger.warning("chunk %s not given back (%s)", claim.chunk_id, db_error)


def scoring_run_finish(*, run_id: int) -> ScoringRun:
    """End a running run whose chunks have all ended: succeeded, or failed naming its failed
    chunks; its figures recomputed from the committed chunks. Anything else is left as is."""
    return _finish(run_id)[0]


@transaction.atomic
def scoring_run_fail(*, run_id: int, error: str) -> ScoringRun:
    """End an unfinished run as failed for a reason no retry can mend (its artifact does not
    verify, say); the chunks not yet written are ended with it."""
    run = ScoringRun.objects.select_for_update().get(pk=run_id)
    if run.status not in UNFINISHED:
        return run
    ScoringChunk.objects.filter(
        run_id=run_id, status__in=[ChunkStatus.PENDING, ChunkStatus.RUNNING]
    ).update(status=ChunkStatus.FAILED, error=error[:4000], finished_at=timezone.now(),
             lease_expires_at=None)  # fmt: skip
    _status_move(run, RunStatus.FAILED, error=error[:4000], finished_at=timezone.now())
    return run


def _finish(run_id: int) -> tuple[ScoringRun, bool]:
    with transaction.atomic():
        run = ScoringRun.objects.select_for_update(of=("self",)).select_related("model_version")
        run = run.get(pk=run_id)
        if run.status != RunStatus.RUNNING:
            return run, False
        chunks = ScoringChunk.objects.filter(run_id=run_id)
        if chunks.filter(status__in=[ChunkStatus.PENDING, ChunkStatus.RUNNING]).exists():
            return run, False
        done = chunks.filter(status=ChunkStatus.DONE).aggregate(
            chunks_done=Count("chunk_id"), **{name: Sum(name) for name in _COUNTS}
        )
        failed = list(chunks.filter(status=ChunkStatus.FAILED).values_list("chunk_no", "error"))
        fields = {name: value or 0 for name, value in done.items()}
        if failed:
            numbers = ", ".join(str(no) for no, _ in failed)
            fields["error"] = (
                f"{len(failed)} chunk(s) failed after {settings.SCORING_CHUNK_MAX_ATTEMPTS} "
                f"attempts; unfinished chunks: {numbers}; first error (chunk {failed[0][0]}): "
                f"{failed[0][1]}"
            )[:4000]
        status = RunStatus.FAILED if failed else RunStatus.SUCCEEDED
        _status_move(run, status, finished_at=timezone.now(), **fields)
        audit_event_record(
            event_type=AuditEvent.PREDICTION_RUN,
            changed_by=run.created_by,
            entity_type="SCORING_RUN",
            entity_id=run.pk,
            model_version=run.model_version_id,
            new_values={
                "status": status,
                "patients_scored": run.patients_scored,
                "patients_total": run.patients_total,
                "predictions_written": run.predictions_written,
                "projections_written": run.projections_written,
                "chunks": run.chunks_done,
                "chunks_failed": [no for no, _ in failed],
                "seconds_scoring": round(run.seconds_scoring, 3),
                "seconds_writing": round(run.seconds_writing, 3),
                "tiers": _tier_counts(run.model_version_id),
            },
        )
    if status == RunStatus.SUCCEEDED:
        from finance.services import views_refresh

        tables_analyze("predictions", "financial_projections")
        if ModelVersion.objects.filter(version=run.model_version_id, status=ModelStatus.ACTIVE):
            views_refresh(changed_by=run.created_by)
    return run, True


def _status_move(run: ScoringRun, status: str, **fields) -> None:
    """The only place a run's status changes (a trigger refuses backward moves)."""
    run.status = status
    for name, value in fields.items():
        setattr(run, name, value)
    run.save(update_fields=["status", *fields])


def _tier_counts(version: str) -> dict[str, dict[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT prediction_window, risk_tier, count(*) FROM predictions "
            "WHERE model_version = %s AND superseded_at IS NULL GROUP BY 1, 2 ORDER BY 1, 2",
            [version],
        )
        counts: dict[str, dict[str, int]] = {}
        for window, tier, count in cursor.fetchall():
            counts.setdefault(window, {})[str(tier)] = count
        return counts


def population_score(
    *,
    run_id: int,
    progress: Progress | None = None,
    workers: int | None = None,
    helpers: bool = False,
) -> ScoringRun:
    """Carry out (or join) a run in this process with `workers` claimers (threads, each with
    its own connection) and return it once it has ended; with `helpers`, Celery workers are
    asked to take part too. Inside a caller's transaction other connections could not see
    its rows, so it runs on one claimer."""
    workers = 1 if connection.in_atomic_block else workers or settings.SCORING_WORKERS
    if helpers:
        run = scoring_run_plan(run_id=run_id)
        if run.chunks_total > 1:
            scoring_run_dispatch(run_id=run_id, copies=min(run.chunks_total - 1,
                                                          settings.SCORING_RUN_TASKS))  # fmt: skip
    if workers <= 1:
        return scoring_run_work(run_id=run_id, progress=progress).run
    stop, errors, lock = threading.Event(), [], threading.Lock()

    def reported(run: ScoringRun) -> None:
        with lock:
            progress(run)

    def claimer() -> None:
        try:
            scoring_run_work(run_id=run_id, stop=stop, progress=progress and reported)
        except BaseException as exc:
            errors.append(exc)
            stop.set()  # the others stop claiming; the run goes on elsewhere or on resume
        finally:
            connection.close()  # this thread's own connection

    # Each claimer scores on one core: OpenMP in predict_proba would otherwise start a thread
    # per core in every claimer and they would fight over the same cores.
    with threadpool_limits(limits=1):
        threads = [threading.Thread(target=claimer, name=f"claimer-{i}") for i in range(workers)]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                thread.join()
        except BaseException:
            stop.set()
            for thread in threads:
                thread.join()
            raise
    if errors:
        raise errors[0]
    return ScoringRun.objects.get(pk=run_id)


@dataclass(frozen=True)
class SweepResult:
    planned: list[int]
    dispatched: list[int]
    ended: list[int]


def scoring_runs_sweep() -> SweepResult:
    """Recovery without a person (beat, every SCORING_SWEEP_SECONDS): plan pending runs that
    nobody started, end runs whose chunks have all ended, and ask workers again for runs
    with chunks to claim but nobody holding a lease — whatever their model version. Two
    sweeps at once do no harm: planning and ending lock the run, and asking again is
    claimed by one of them."""
    result = SweepResult([], [], [])
    grace = settings.SCORING_REDISPATCH_SECONDS
    settled = timezone.now() - timezone.timedelta(seconds=grace)
    for run in ScoringRun.objects.filter(status__in=UNFINISHED).order_by("run_id"):
        if run.status == RunStatus.PENDING:
            if run.created_at > settled:
                continue  # its creator is about to plan it
            scoring_run_plan(run_id=run.pk)
            result.planned.append(run.pk)
        chunks_fail_exhausted(run_id=run.pk, max_attempts=settings.SCORING_CHUNK_MAX_ATTEMPTS)
        state = chunks_state(run_id=run.pk)
        if state.unfinished == 0:
            if _finish(run.pk)[1]:
                result.ended.append(run.pk)
        elif state.live_leases == 0 and _redispatch_claimed(run.pk, settled):
            result.dispatched.append(run.pk)
    return result


@transaction.atomic
def _redispatch_claimed(run_id: int, settled: datetime) -> bool:
    """Ask workers again, if no other sweep did within the grace period."""
    claimed = ScoringRun.objects.filter(pk=run_id).filter(
        Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=settled)
    )
    if not claimed.update(dispatched_at=timezone.now()):
        return False
    scoring_run_dispatch(run_id=run_id)
    return True
