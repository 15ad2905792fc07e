"""Financial projections for new predictions, written by one INSERT … SELECT.

Each projection takes its intervention cost, success-rate range and addressable share from
the intervention policy of its window and tier. `success_rate_actual` is drawn inside that
range reproducibly from (patient_uuid, window, model version): the first 32 bits of
md5("<uuid>|<window>|<version>") as a fraction of 2^32 - 1, so re-running gives the same
number to the cent. PostgreSQL's generated columns then compute savings, net benefit and ROI.
"""

import hashlib
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection

from riskplatform.core.windows import window_days_sql_pairs

DRAW_SQL = (
    "(('x' || substr(md5(p.patient_uuid::text || '|' || pr.prediction_window || '|' "
    "|| pr.model_version), 1, 8))::bit(32)::bigint / 4294967295.0)"
)


def success_rate_draw(patient_uuid: str, window: str, version: str) -> float:
    """The same draw as DRAW_SQL, in Python (tests, explanations)."""
    digest = hashlib.md5(f"{patient_uuid}|{window}|{version}".encode()).hexdigest()  # noqa: S324
    return int(digest[:8], 16) / 4294967295


def success_rate_actual(low: Decimal, high: Decimal, draw: float) -> Decimal:
    """low + (high - low) x draw, rounded to the column's 3 decimals, half away from zero
    like PostgreSQL's round() of numeric."""
    span = (high - low) * Decimal(repr(draw))
    return low + span.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def projections_create(*, prediction_ids: list[int]) -> int:
    """Project every listed prediction that has no projection yet; returns rows written."""
    if not prediction_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO financial_projections (
                patient_id, prediction_id, projection_window, days_in_window, projected_date,
                annual_cost, addressable_cost_pct, risk_tier, intervention_cost,
                success_rate_min, success_rate_max, success_rate_actual)
            SELECT pr.patient_id, pr.prediction_id, pr.prediction_window, w.days,
                   pr.prediction_timestamp::date + w.days,
                   COALESCE(p.annual_cost, f.total_annual_cost, 0),
                   pol.addressable_cost_pct, pr.risk_tier, pol.intervention_cost,
                   pol.success_rate_min, pol.success_rate_max,
                   pol.success_rate_min
                     + round((pol.success_rate_max - pol.success_rate_min) * {DRAW_SQL}, 3)
            FROM predictions pr
            JOIN patients p ON p.patient_id = pr.patient_id
            LEFT JOIN patient_features f ON f.patient_id = pr.patient_id
            JOIN intervention_policies pol
              ON pol.prediction_window = pr.prediction_window AND pol.risk_tier = pr.risk_tier
            JOIN (VALUES {window_days_sql_pairs()}) AS w(prediction_window, days)
              ON w.prediction_window = pr.prediction_window
            WHERE pr.prediction_id = ANY(%s)
            ON CONFLICT (prediction_id) DO NOTHING
            """,
            [prediction_ids],
        )
        return cursor.rowcount
