"""The realised ROI report: projected against realised savings over evaluated projections.

Unit: a projection of the chosen model version and window whose prediction has an outcome
(its window has passed) and was not superseded before its window ended (a prediction
replaced mid-window was not the one the coordinators acted on to the end). Its span is
d .. window_end, d being the prediction's date (window_start - 1 day), as in rule savings-v1
(finance/realisation.py). Figures per tier and for all tiers come from one GROUPING SETS query.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection

from finance.models import InterventionPolicy
from finance.realisation import IN_SPAN_SQL
from riskplatform.core.windows import TIER_LABELS, RiskTier

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def _percent(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class RealisedLine:
    label: str
    risk_tier: int | None  # None: the total over every tier
    evaluated: int  # evaluated projections (one per patient, prediction date and window)
    patients: int  # distinct patients among them
    intervened: int  # with a DONE intervention dated within the span
    intervened_not_admitted: int
    not_intervened_admitted: int
    unrealised: int  # evaluated but savings not realised yet (awaiting projections_realise)
    projected_savings: Decimal  # sum of expected_savings
    realised_savings: Decimal  # sum of actual_savings
    projected_cost_intervened: Decimal  # sum of intervention_cost over the intervened
    projected_cost_all: Decimal  # sum of intervention_cost over every evaluated projection
    spent: Decimal  # sum of cost_spent of interventions (any status) within the spans
    interventions_recorded: int  # interventions (any status) within the spans
    interventions_done: int
    success_rate_min: Decimal | None = None  # the policy's, for this window and tier
    success_rate_max: Decimal | None = None

    @property
    def not_intervened(self) -> int:
        return self.evaluated - self.intervened

    @property
    def realised_roi(self) -> Decimal | None:
        """(realised - spent) / spent x 100; undefined when nothing was spent."""
        return _percent(self.realised_savings - self.spent, self.spent)

    @property
    def observed_success_rate(self) -> Decimal | None:
        """Percent of intervened projections without an admission in the window."""
        return _percent(self.intervened_not_admitted, self.intervened)

    @property
    def baseline_admission_rate(self) -> Decimal | None:
        """Percent of not-intervened projections with an admission (not a control group)."""
        return _percent(self.not_intervened_admitted, self.not_intervened)

    @property
    def done_share(self) -> Decimal | None:
        return _percent(self.interventions_done, self.interventions_recorded)

    @property
    def policy_range(self) -> tuple[Decimal, Decimal] | None:
        if self.success_rate_min is None or self.success_rate_max is None:
            return None
        return (self.success_rate_min * 100, self.success_rate_max * 100)


@dataclass(frozen=True)
class RealisedReport:
    window: str
    model_version: str | None
    lines: list[RealisedLine]  # one per tier, 1 to 5
    total: RealisedLine


# Spans and interventions are read once per projection (LATERAL), then summed per tier and
# over all tiers (GROUPING SETS), so the page costs one query whatever the population.
_REPORT_SQL = f"""
WITH unit AS (
    SELECT pr.risk_tier, fp.patient_id, fp.expected_savings, fp.actual_savings,
           fp.intervention_cost, o.admitted,
           spent.done > 0 AS intervened,  -- rule savings-v1: a DONE one in the span
           spent.cost, spent.recorded, spent.done
      FROM financial_projections fp
      JOIN predictions pr ON pr.prediction_id = fp.prediction_id
      JOIN prediction_outcomes o ON o.prediction_id = fp.prediction_id
      JOIN patients pa ON pa.patient_id = fp.patient_id
      CROSS JOIN LATERAL (
          SELECT COALESCE(SUM(i.cost_spent), 0) AS cost,
                 COUNT(*) AS recorded,
                 COUNT(*) FILTER (WHERE i.status = 'DONE') AS done
            FROM interventions i
           WHERE {IN_SPAN_SQL}
      ) spent
     WHERE pr.model_version = %(version)s
       AND pr.prediction_window = %(window)s
       AND pa.department_id = ANY(%(departments)s::int[])
       AND (pr.superseded_at IS NULL OR pr.superseded_at >= o.window_end + 1)
)
SELECT GROUPING(risk_tier) = 1 AS is_total, risk_tier,
       COUNT(*), COUNT(DISTINCT patient_id),
       COUNT(*) FILTER (WHERE intervened),
       COUNT(*) FILTER (WHERE intervened AND NOT admitted),
       COUNT(*) FILTER (WHERE NOT intervened AND admitted),
       COUNT(*) FILTER (WHERE actual_savings IS NULL),
       COALESCE(SUM(expected_savings), 0),
       COALESCE(SUM(actual_savings), 0),
       COALESCE(SUM(intervention_cost) FILTER (WHERE intervened), 0),
       COALESCE(SUM(intervention_cost), 0),
       COALESCE(SUM(cost), 0),
       COALESCE(SUM(recorded), 0),
       COALESCE(SUM(done), 0)
  FROM unit
 GROUP BY GROUPING SETS ((risk_tier), ())
"""  # noqa: S608 (constants only; the values are parameters)

_FIGURES = (
    "evaluated", "patients", "intervened", "intervened_not_admitted", "not_intervened_admitted",
    "unrealised", "projected_savings", "realised_savings", "projected_cost_intervened",
    "projected_cost_all", "spent", "interventions_recorded", "interventions_done",
)  # fmt: skip


def _empty_figures() -> dict:
    return (
        {name: 0 for name in _FIGURES[:6]}
        | {name: ZERO for name in _FIGURES[6:11]}
        | {
            "interventions_recorded": 0,
            "interventions_done": 0,
        }
    )


def realised_report(
    *, department_ids: list[int], window: str, model_version: str | None
) -> RealisedReport:
    """Per tier and in total over the given departments: evaluated projections, the
    intervened, projected against realised savings and costs, realised ROI and the observed
    success rate beside the policy's range. Two queries (the figures, the policies)."""
    found: dict[int | None, dict] = {}
    if model_version and department_ids:
        with connection.cursor() as cursor:
            cursor.execute(
                _REPORT_SQL,
                {"version": model_version, "window": window, "departments": department_ids},
            )
            for is_total, tier, *figures in cursor.fetchall():
                found[None if is_total else tier] = dict(zip(_FIGURES, figures, strict=True))
    policies = {p.risk_tier: p for p in InterventionPolicy.objects.filter(prediction_window=window)}
    lines = []
    for tier in RiskTier:
        policy = policies.get(tier.value)
        lines.append(
            RealisedLine(
                label=TIER_LABELS[tier.value],
                risk_tier=tier.value,
                success_rate_min=policy.success_rate_min if policy else None,
                success_rate_max=policy.success_rate_max if policy else None,
                **found.get(tier.value, _empty_figures()),
            )
        )
    total = RealisedLine(label="Total", risk_tier=None, **found.get(None, _empty_figures()))
    return RealisedReport(window=window, model_version=model_version, lines=lines, total=total)
