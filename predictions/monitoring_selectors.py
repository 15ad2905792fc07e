"""Reads for model monitoring: a version's judged predictions (prediction_outcomes), its
currently scored population counted into the training bins, its current scores, and the
latest monitoring run. The arithmetic is in predictions/monitoring.py."""

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import OuterRef, Subquery

from predictions.features import feature_frame
from predictions.model_store import WINDOWS
from predictions.models import ModelMonitoringRun, ModelVersion, Prediction
from predictions.monitoring import column_counts, counts_add

UNKNOWN_GROUP = "Unknown"
FEATURE_CHUNK = 20_000

# Every prediction of the version whose window has passed, superseded ones included: each
# was a claim about its own window. The month is that of the prediction date as the outcome
# rule reads it (window_start is the day after).
_OUTCOMES_SQL = """
SELECT pr.prediction_window, pr.risk_score::float8, o.admitted,
       to_char(o.window_start - 1, 'YYYY-MM'), p.race, p.gender
FROM prediction_outcomes o
JOIN predictions pr ON pr.prediction_id = o.prediction_id
JOIN patients p ON p.patient_id = pr.patient_id
WHERE pr.model_version = %s
ORDER BY o.prediction_id
"""
OUTCOME_COLUMNS = ["window", "score", "admitted", "month", "race", "gender"]


def outcomes_frame(*, version: str) -> pd.DataFrame:
    """One row per judged prediction of `version` (columns OUTCOME_COLUMNS); an unknown
    race or gender is UNKNOWN_GROUP."""
    with connection.cursor() as cursor:
        cursor.execute(_OUTCOMES_SQL, [version])
        rows = cursor.fetchall()
    frame = pd.DataFrame(rows, columns=OUTCOME_COLUMNS)
    frame["score"] = frame["score"].astype("float64")
    frame["admitted"] = frame["admitted"].astype(bool)
    for column in ("race", "gender"):
        frame[column] = frame[column].fillna(UNKNOWN_GROUP).astype(str)
    return frame


def _current(version: str):
    # Current predictions of active patients, as the views and the model card count them.
    return Prediction.objects.filter(
        model_version_id=version, superseded_at__isnull=True, patient__is_active=True
    )


def scored_patient_ids(*, version: str) -> list[int]:
    return list(
        _current(version).values_list("patient_id", flat=True).distinct().order_by("patient_id")
    )


def population_feature_counts(
    *, version: ModelVersion, reference: dict
) -> tuple[int, dict[str, dict | list]]:
    """The version's currently scored patients counted into each feature's training bins,
    read in chunks (a whole population's features at once would be hundreds of MB)."""
    ids = scored_patient_ids(version=version.version)
    counts: dict[str, dict | list] = {}
    n = 0
    for start in range(0, len(ids), FEATURE_CHUNK):
        frame = feature_frame(ids[start : start + FEATURE_CHUNK], version.feature_contract_version)
        n += len(frame)
        for name, ref in reference["features"].items():
            if name in frame.columns:
                counts[name] = counts_add(counts.get(name), column_counts(ref, frame[name]))
    return n, counts


def current_scores(*, version: str) -> dict[str, np.ndarray]:
    """Each window's current scores of active patients under `version`."""
    rows = _current(version).values_list("prediction_window", "risk_score")
    by_window: dict[str, list[float]] = {window: [] for window in WINDOWS}
    for window, score in rows.iterator(chunk_size=10_000):
        by_window.setdefault(window, []).append(float(score))
    return {w: np.asarray(v, dtype="float64") for w, v in by_window.items() if v}


def latest_monitoring_run(*, version: str) -> ModelMonitoringRun | None:
    return ModelMonitoringRun.objects.filter(model_version_id=version).first()


def latest_run_subquery(field: str) -> Subquery:
    """`field` of each version's latest monitoring run, for annotating ModelVersion rows."""
    return Subquery(
        ModelMonitoringRun.objects.filter(model_version_id=OuterRef("version"))
        .order_by("-created_at", "-run_id")
        .values(field)[:1]
    )
