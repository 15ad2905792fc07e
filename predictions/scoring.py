"""Score patients under a model version: the per-chunk core shared by population runs
(predictions/scoring_runs.py) and the real-time path (predictions/services.py).

Per chunk: one query reads the features, `predict_proba` runs once per window on the whole
chunk (`patients_predict`, no transaction needed), and one transaction's worth of statements
supersedes the chunk's stale predictions, inserts the new ones (one INSERT … SELECT FROM
unnest(arrays) … ON CONFLICT DO NOTHING) and their projections (one INSERT … SELECT)
(`predictions_record`, in the caller's transaction).
"""

import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db import connection

from finance.projections import projections_create
from predictions.features import feature_frame
from predictions.model_store import WINDOWS
from predictions.tiers import assign_tiers
from riskplatform.core.windows import tier_labels_sql_pairs

# Patients whose current prediction of the version is missing for some window, or older than
# their latest feature or demographic change.
NEEDS_SCORE_SQL = """
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
"""


def patients_needing_score(*, version: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            NEEDS_SCORE_SQL + " ORDER BY p.patient_id",
            {"version": version, "windows": len(WINDOWS)},
        )
        return [row[0] for row in cursor.fetchall()]


@dataclass(frozen=True)
class ChunkPredicted:
    """A chunk's scores, not yet written: (patient, window, score, tier) as four columns."""

    ids: list[int]
    columns: tuple[list, list, list, list]
    seconds_scoring: float


def patients_predict(*, ids: list[int], bundle, thresholds: dict) -> ChunkPredicted:
    """Read the patients' features and score them for every window (reads only)."""
    started = time.perf_counter()
    frame = feature_frame(ids, bundle.contract_version)
    risks = bundle.predict_risks(frame)
    patient_ids = frame.index.tolist()
    columns: tuple[list, list, list, list] = ([], [], [], [])
    for window in WINDOWS:
        scores = np.round(risks[window], 4)  # the stored precision; tiers follow the stored value
        columns[0].extend(patient_ids)
        columns[1].extend([window] * len(patient_ids))
        columns[2].extend(scores.tolist())
        columns[3].extend(assign_tiers(scores, thresholds[window]).tolist())
    return ChunkPredicted(ids, columns, time.perf_counter() - started)


@dataclass(frozen=True)
class ChunkScored:
    prediction_ids: list[int]
    superseded: list[tuple[int, str, str]]  # (patient_id, window, old score) of replaced rows
    projections: int
    patients: int
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
    transaction (the real-time path)."""
    predicted = patients_predict(ids=ids, bundle=bundle, thresholds=thresholds)
    return predictions_record(
        predicted=predicted, version=version, actor=actor, scored_as_of=scored_as_of
    )


def predictions_record(
    *, predicted: ChunkPredicted, version: str, actor: str, scored_as_of: datetime | None = None
) -> ChunkScored:
    """Write a chunk's predictions and their projections, in the caller's transaction."""
    writing = time.perf_counter()
    superseded, prediction_ids = _predictions_write(
        predicted.ids, predicted.columns, version, actor, scored_as_of
    )
    projecting = time.perf_counter()
    projections = projections_create(prediction_ids=prediction_ids)
    projected = time.perf_counter()
    return ChunkScored(
        prediction_ids, superseded, projections, len(set(predicted.columns[0])),
        predicted.seconds_scoring, projected - writing, projected - projecting,
    )  # fmt: skip


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
