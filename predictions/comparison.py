"""How a candidate version would change what coordinators see, against the active one."""

from django.db import connection

from predictions.model_store import WINDOWS
from predictions.models import ModelVersion

TOP_MOVERS = 10
_CURRENT_PAIRS = """
    FROM predictions old
    JOIN predictions new
      ON new.patient_id = old.patient_id AND new.prediction_window = old.prediction_window
     AND new.model_version = %(new)s AND new.superseded_at IS NULL
    JOIN patients p ON p.patient_id = old.patient_id AND p.is_active
    WHERE old.model_version = %(old)s AND old.superseded_at IS NULL
"""


def _rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def model_versions_compare(*, baseline: str, candidate: str) -> dict:
    """Per window: tier transition matrix (old x new), kept / raised / lowered counts, the
    distribution of score changes, the patients whose score moved most, and both versions'
    held-out metrics side by side. Patients are named by patient_uuid only."""
    params = {"old": baseline, "new": candidate}
    windows: dict[str, dict] = {w: {"matrix": [[0] * 5 for _ in range(5)]} for w in WINDOWS}
    for window, old_tier, new_tier, count in _rows(
        f"SELECT old.prediction_window, old.risk_tier, new.risk_tier, count(*) {_CURRENT_PAIRS}"
        " GROUP BY 1, 2, 3",
        params,
    ):
        windows[window]["matrix"][old_tier - 1][new_tier - 1] = count
    for window, n, kept, raised, lowered, mean, *quantiles in _rows(
        f"""SELECT old.prediction_window, count(*),
                   count(*) FILTER (WHERE new.risk_tier = old.risk_tier),
                   count(*) FILTER (WHERE new.risk_tier > old.risk_tier),
                   count(*) FILTER (WHERE new.risk_tier < old.risk_tier),
                   avg(new.risk_score - old.risk_score),
                   percentile_cont(ARRAY[0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99])
                       WITHIN GROUP (ORDER BY new.risk_score - old.risk_score)
            {_CURRENT_PAIRS} GROUP BY 1""",
        params,
    ):
        windows[window].update(
            patients=n, kept=kept, raised=raised, lowered=lowered,
            score_change={"mean": round(float(mean), 4), **{
                f"p{int(q * 100)}": round(v, 4)
                for q, v in zip((0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99), quantiles[0],
                                strict=True)}},
        )  # fmt: skip
    for window in WINDOWS:
        windows[window]["top_movers"] = [
            {"patient_uuid": str(uuid), "old_score": str(old), "new_score": str(new),
             "old_tier": old_tier, "new_tier": new_tier}
            for uuid, old, new, old_tier, new_tier in _rows(
                f"""SELECT p.patient_uuid, old.risk_score, new.risk_score, old.risk_tier,
                           new.risk_tier {_CURRENT_PAIRS} AND old.prediction_window = %(w)s
                    ORDER BY abs(new.risk_score - old.risk_score) DESC, p.patient_uuid
                    LIMIT {TOP_MOVERS}""",
                {**params, "w": window},
            )
        ]  # fmt: skip
    metrics = dict(
        ModelVersion.objects.filter(version__in=[baseline, candidate]).values_list(
            "version", "metrics"
        )
    )
    for window in WINDOWS:
        windows[window]["metrics"] = {
            version: {
                k: (metrics.get(version) or {}).get("windows", {}).get(window, {}).get(k)
                for k in ("auc", "brier", "calibration_slope", "calibration_intercept")
            }
            for version in (baseline, candidate)
        }
    return {"baseline": baseline, "candidate": candidate, "windows": windows}
