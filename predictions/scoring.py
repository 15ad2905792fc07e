"""Score the population under a model version, chunk by chunk.

Per chunk: one query reads the features, `predict_proba` runs once per window on the whole
chunk, and one transaction supersedes the chunk's stale predictions, inserts the new ones
(one INSERT … SELECT FROM unnest(arrays) … ON CONFLICT DO NOTHING) and their
projections (one INSERT … SELECT), and advances the run's counters. A run that dies between
chunks loses nothing and resumes where it stopped: only patients without a current, fresh
prediction of this version are selected.
"""

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from threadpoolctl import threadpool_limits

from finance.projections import projections_create
from predictions.features import feature_frame
from predictions.model_store import WINDOWS, model_bundle_load
from predictions.models import ModelStatus, ModelVersion, RunStatus, ScoringRun
from predictions.tiers import assign_tiers
from riskplatform.core.db import GrowthAnalyzer, tables_analyze
from riskplatform.core.models import AuditEvent
from riskplatform.core.services import audit_event_record
from riskplatform.core.windows import tier_labels_sql_pairs

logger = logging.getLogger(__name__)
Progress = Callable[[ScoringRun], None]

# Patients whose current prediction of the version is missing for some window, or older than
# their latest feature or demographic change.
_NEEDS_SCORE_SQL = """
    SELECT p.patient_id
    FROM patients p
    JOIN patient_features f ON f.patient_id = p.patient_id
    WHERE p.is_active
      AND (SELECT count(*) FROM predictions pr
           WHERE pr.patient_id = p.patient_id
             AND pr.model_version = %(version)s
             AND pr.superseded_at IS NULL
             AND pr.prediction_timestamp >= GREATEST(f.created_at, f.updated_at, p.updated_at)
          ) < %(windows)s
    ORDER BY p.patient_id
"""


def patients_needing_score(*, version: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(_NEEDS_SCORE_SQL, {"version": version, "windows": len(WINDOWS)})
        return [row[0] for row in cursor.fetchall()]


@transaction.atomic
def scoring_run_create(
    *,
    version: str,
    changed_by: str,
    chunk_size: int = 5000,
    scored_as_of: datetime | None = None,
) -> ScoringRun:
    """`scored_as_of` back-tests: the predictions are dated at that past moment, so their
    windows can be judged against the admissions that followed (the demo uses it)."""
    ModelVersion.objects.get(version=version)  # a clear DoesNotExist for an unknown label
    if scored_as_of is not None and scored_as_of > timezone.now():
        raise ValueError("scored_as_of must not be in the future")
    return ScoringRun.objects.create(
        model_version_id=version,
        chunk_size=chunk_size,
        created_by=changed_by,
        scored_as_of=scored_as_of,
    )


def population_score(
    *, run_id: int, progress: Progress | None = None, workers: int | None = None
) -> ScoringRun:
    """Carry out (or resume) a scoring run. Never swallows an exception: the run is marked
    failed with the error, then the exception propagates.

    Chunks are independent, so `workers` threads (each with its own database connection)
    score and write them side by side and both cores' PostgreSQL backends work. Inside a
    caller's transaction other connections could not see its rows, so it runs on one.
    """
    workers = workers or settings.SCORING_WORKERS
    if connection.in_atomic_block:
        workers = 1
    run = ScoringRun.objects.select_related("model_version").get(pk=run_id)
    version = run.model_version.version
    try:
        bundle = model_bundle_load(version)
        thresholds = run.model_version.tier_thresholds
        # The run covers the patients that need a score when it starts (one query); later
        # arrivals are scored as they arrive (real-time path) or by the next run. A resumed
        # run asks again and so skips every chunk that was committed.
        pending = patients_needing_score(version=version)
        ScoringRun.objects.filter(pk=run_id).update(
            status=RunStatus.RUNNING,
            started_at=run.started_at or timezone.now(),
            patients_total=len(pending) + run.patients_scored,
            error="",
        )
        analyzer = GrowthAnalyzer("predictions", "financial_projections")
        chunks = [pending[i : i + run.chunk_size] for i in range(0, len(pending), run.chunk_size)]

        def score(ids: list[int]) -> int:
            _score_chunk(run_id, ids, bundle, thresholds, version, run.created_by, run.scored_as_of)
            return len(ids)

        for scored in _run_chunks(score, chunks, workers):
            analyzer.added_rows(scored * len(WINDOWS))
            if progress:
                progress(ScoringRun.objects.get(pk=run_id))
    except BaseException as exc:
        ScoringRun.objects.filter(pk=run_id).update(
            status=RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:4000]
        )
        raise
    return _finish(run_id, version)


def _run_chunks(work: Callable[[list[int]], int], chunks: list[list[int]], workers: int):
    """Yield each chunk's result as it completes; on the first failure, cancel the chunks
    not yet started and raise it (chunks already committed stay: the run resumes)."""
    if workers <= 1:
        for ids in chunks:
            yield work(ids)
        return

    def in_thread(ids: list[int]) -> int:
        try:
            return work(ids)
        finally:
            connection.close()  # this thread's own connection

    # Each worker scores on one core: OpenMP in predict_proba would otherwise start a thread
    # per core in every worker and the workers would fight over the same cores.
    with threadpool_limits(limits=1), ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(in_thread, ids) for ids in chunks]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


@dataclass(frozen=True)
class ChunkScored:
    prediction_ids: list[int]
    superseded: list[tuple[int, str, str]]  # (patient_id, window, old score) of replaced rows
    projections: int
    seconds_scoring: float
    seconds_writing: float
    seconds_projecting: float


def patients_score(
    *,
    ids: list[int],
    bundle,
    thresholds: dict,
    version: str,
    actor: str,
    scored_as_of: datetime | None = None,
) -> ChunkScored:
    """Score `ids` under `version` and write predictions and projections, in the caller's
    transaction. The batch run and the real-time path both come through here."""
    started = time.perf_counter()
    frame = feature_frame(ids, bundle.contract_version)
    risks = bundle.predict_risks(frame)
    scored = time.perf_counter()
    patient_ids = frame.index.tolist()
    columns: tuple[list, list, list, list] = ([], [], [], [])
    for window in WINDOWS:
        scores = np.round(risks[window], 4)  # the stored precision; tiers follow the stored value
        columns[0].extend(patient_ids)
        columns[1].extend([window] * len(patient_ids))
        columns[2].extend(scores.tolist())
        columns[3].extend(assign_tiers(scores, thresholds[window]).tolist())
    superseded, prediction_ids = _predictions_write(ids, columns, version, actor, scored_as_of)
    projecting = time.perf_counter()
    projections = projections_create(prediction_ids=prediction_ids)
    projected = time.perf_counter()
    return ChunkScored(
        prediction_ids, superseded, projections,
        scored - started, projected - scored, projected - projecting,
    )  # fmt: skip


def _score_chunk(run_id, ids, bundle, thresholds, version: str, actor: str, as_of) -> None:
    with transaction.atomic():
        chunk = patients_score(
            ids=ids, bundle=bundle, thresholds=thresholds, version=version, actor=actor,
            scored_as_of=as_of,
        )  # fmt: skip
        ScoringRun.objects.filter(pk=run_id).update(
            patients_scored=F("patients_scored") + len(ids),
            predictions_written=F("predictions_written") + len(chunk.prediction_ids),
            projections_written=F("projections_written") + chunk.projections,
            chunks_done=F("chunks_done") + 1,
            seconds_scoring=F("seconds_scoring") + chunk.seconds_scoring,
            seconds_writing=F("seconds_writing") + chunk.seconds_writing,
            seconds_projecting=F("seconds_projecting") + chunk.seconds_projecting,
        )


def _predictions_write(
    ids: list[int],
    columns: tuple[list, list, list, list],
    version: str,
    actor: str,
    scored_as_of: datetime | None = None,
) -> tuple[list[tuple[int, str, str]], list[int]]:
    """Supersede the patients' current rows of this version (kept: re-scoring keeps history)
    and insert the new ones from four arrays in one statement (unnest: no temporary table,
    so one patient costs two statements and a 5,000-patient chunk the same two)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE predictions SET superseded_at = statement_timestamp() "
            "WHERE patient_id = ANY(%s) AND model_version = %s AND superseded_at IS NULL "
            "RETURNING patient_id, prediction_window, risk_score::text",
            [ids, version],
        )
        superseded = cursor.fetchall()
        cursor.execute(
            f"""
            INSERT INTO predictions (patient_id, prediction_window, model_version, risk_score,
                                     risk_tier, tier_label, created_by, prediction_timestamp)
            SELECT s.patient_id, s.prediction_window, %s, s.risk_score, s.risk_tier, t.label, %s,
                   COALESCE(%s::timestamptz, statement_timestamp())
            FROM unnest(%s::bigint[], %s::text[], %s::numeric(5,4)[], %s::smallint[])
                 AS s(patient_id, prediction_window, risk_score, risk_tier)
            JOIN (VALUES {tier_labels_sql_pairs()}) AS t(tier, label) ON t.tier = s.risk_tier
            ON CONFLICT (patient_id, prediction_window, model_version)
               WHERE superseded_at IS NULL DO NOTHING
            RETURNING prediction_id
            """,
            [version, actor, scored_as_of, *columns],
        )
        return superseded, [row[0] for row in cursor.fetchall()]


def _finish(run_id: int, version: str) -> ScoringRun:
    from finance.services import views_refresh

    tables_analyze("predictions", "financial_projections")
    with transaction.atomic():
        run = ScoringRun.objects.select_for_update().get(pk=run_id)
        run.status, run.finished_at = RunStatus.SUCCEEDED, timezone.now()
        run.save(update_fields=["status", "finished_at"])
        audit_event_record(
            event_type=AuditEvent.PREDICTION_RUN,
            changed_by=run.created_by,
            entity_type="SCORING_RUN",
            entity_id=run.pk,
            model_version=version,
            new_values={
                "patients_scored": run.patients_scored,
                "predictions_written": run.predictions_written,
                "projections_written": run.projections_written,
                "chunks": run.chunks_done,
                "seconds_scoring": round(run.seconds_scoring, 3),
                "seconds_writing": round(run.seconds_writing, 3),
                "tiers": _tier_counts(version),
            },
        )
    if ModelVersion.objects.filter(version=version, status=ModelStatus.ACTIVE).exists():
        views_refresh(changed_by=run.created_by)
    return run


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
