from dataclasses import dataclass

from django.db import connection
from django.db.models import Q

from predictions.models import ModelStatus


def current_prediction_q(prefix: str = "") -> Q:
    """The current predictions: the active version's, not superseded, of active patients.

    `prefix` reaches a prediction through a relation (for example "prediction__")."""
    return Q(
        **{
            f"{prefix}model_version__status": ModelStatus.ACTIVE,
            f"{prefix}superseded_at__isnull": True,
            f"{prefix}patient__is_active": True,
        }
    )


@dataclass(frozen=True)
class TierChangeSummary:
    prediction_window: str
    total_predictions: int
    tier_unchanged: int
    tier_changed: int
    risk_increased: int
    risk_decreased: int


# The seed's Query 3, corrected: a patient's old and new predictions are paired within the
# same window (the seed pairs every window with every other, counting each patient 9 times),
# and only current (not superseded) predictions are compared.
_VERSION_COMPARISON_SQL = """
SELECT old.prediction_window,
       COUNT(*),
       COUNT(*) FILTER (WHERE new.risk_tier = old.risk_tier),
       COUNT(*) FILTER (WHERE new.risk_tier <> old.risk_tier),
       COUNT(*) FILTER (WHERE new.risk_tier > old.risk_tier),
       COUNT(*) FILTER (WHERE new.risk_tier < old.risk_tier)
FROM predictions old
JOIN predictions new
  ON new.patient_id = old.patient_id
 AND new.prediction_window = old.prediction_window
 AND new.superseded_at IS NULL
WHERE old.model_version = %s
  AND new.model_version = %s
  AND old.superseded_at IS NULL
GROUP BY old.prediction_window
ORDER BY old.prediction_window
"""


def model_version_comparison(*, old_version: str, new_version: str) -> list[TierChangeSummary]:
    """How tiers moved between two versions, per window."""
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_COMPARISON_SQL, [old_version, new_version])
        return [TierChangeSummary(*row) for row in cursor.fetchall()]
