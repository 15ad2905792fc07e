"""The care coordinators' worklist: a department's high and critical patients in one window,
under the active model, most worth calling first. Reads only (a selector)."""

from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

from django.db import connection

from patients.models import Department

# Orders by output columns, so that the page query and its outer join sort alike (so every
# output column of the outer query needs a name of its own).
SORTS = {
    "net_benefit": "net_benefit DESC NULLS LAST",
    "roi": "roi_percentage DESC NULLS LAST",
    "score": "risk_score DESC",
}
PAGE_SIZE = 50


@dataclass(frozen=True)
class WorklistFilters:
    tiers: tuple[int, ...] = ()  # subset of the department's flagged tiers; empty = all of them
    roi_category: str = ""
    data_source: str = ""
    sort: str = "net_benefit"


@dataclass
class WorklistRow:
    patient_id: int  # internal: used to compute drivers, never rendered
    patient_uuid: UUID
    external_id: str | None
    age: int
    gender: str | None
    data_source: str
    risk_score: Decimal
    risk_tier: int
    tier_label: str
    previous_score: Decimal | None
    intervention_cost: Decimal
    expected_savings: Decimal
    net_benefit: Decimal
    roi_percentage: Decimal | None
    roi_category: str
    drivers: list = field(default_factory=list)

    @property
    def score_change(self) -> Decimal | None:
        return None if self.previous_score is None else self.risk_score - self.previous_score


def flagged_tiers(department: Department) -> tuple[int, ...]:
    """The tiers this department's worklist flags (the seed: some focus on critical only)."""
    return tuple(
        tier
        for tier, flagged in ((4, department.flag_high_risk), (5, department.flag_critical_risk))
        if flagged
    )


_JOINS = """
FROM predictions pr
JOIN model_versions mv ON mv.version = pr.model_version AND mv.status = 'active'
JOIN patients p ON p.patient_id = pr.patient_id
JOIN financial_projections fp ON fp.prediction_id = pr.prediction_id
"""
_WHERE = """
WHERE pr.superseded_at IS NULL AND p.is_active
  AND p.department_id = %(department)s AND pr.prediction_window = %(window)s
  AND pr.risk_tier = ANY(%(tiers)s)
  AND (%(roi)s = '' OR fp.roi_category = %(roi)s)
  AND (%(source)s = '' OR p.data_source = %(source)s)
"""
_COLUMNS = """
SELECT pr.patient_id, p.patient_uuid, p.external_id, p.age, p.gender, p.data_source,
       pr.risk_score, pr.risk_tier, pr.tier_label, pr.prediction_id, pr.prediction_window,
       pr.prediction_timestamp, fp.intervention_cost, fp.expected_savings, fp.net_benefit,
       fp.roi_percentage, fp.roi_category, count(*) OVER () AS total
"""
# The previous score is the patient's latest earlier prediction in the same window, of any
# version (superseded rows are kept for exactly this); looked up for the page's rows only.
_PAGE = """
SELECT page.patient_id, page.patient_uuid, page.external_id, page.age, page.gender,
       page.data_source, page.risk_score, page.risk_tier, page.tier_label,
       prev.risk_score AS previous_score,
       page.intervention_cost, page.expected_savings, page.net_benefit, page.roi_percentage,
       page.roi_category, page.total
FROM ({inner}) page
LEFT JOIN LATERAL (
    SELECT o.risk_score FROM predictions o
    WHERE o.patient_id = page.patient_id AND o.prediction_window = page.prediction_window
      AND o.prediction_id <> page.prediction_id
      AND o.prediction_timestamp <= page.prediction_timestamp
    ORDER BY o.prediction_timestamp DESC, o.prediction_id DESC
    LIMIT 1
) prev ON true
ORDER BY {order}, page.patient_uuid
"""


def _params(department: Department, window: str, filters: WorklistFilters) -> dict:
    allowed = flagged_tiers(department)
    tiers = [t for t in filters.tiers if t in allowed] if filters.tiers else list(allowed)
    return {
        "department": department.pk,
        "window": window,
        "tiers": tiers,
        "roi": filters.roi_category,
        "source": filters.data_source,
    }


def worklist_rows(
    *,
    department: Department,
    window: str,
    filters: WorklistFilters,
    page: int | None = 1,
) -> tuple[list[WorklistRow], int]:
    """One page (PAGE_SIZE rows) or, with page=None, every row (exports), and how many rows
    match in all (one query: the count rides along as a window function)."""
    order = SORTS.get(filters.sort, SORTS["net_benefit"])
    limit = "" if page is None else f"LIMIT {PAGE_SIZE} OFFSET {(max(page, 1) - 1) * PAGE_SIZE}"
    inner = f"{_COLUMNS} {_JOINS} {_WHERE} ORDER BY {order}, p.patient_uuid {limit}"
    with connection.cursor() as cursor:
        cursor.execute(_PAGE.format(inner=inner, order=order), _params(department, window, filters))
        found = cursor.fetchall()
    return [WorklistRow(*row[:-1]) for row in found], (found[0][-1] if found else 0)
