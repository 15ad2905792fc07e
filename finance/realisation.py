"""Realised savings: what each evaluated projection actually saved, by rule `savings-v1`.

The projection's own model is expected_savings = addressable_cost x success_rate. Once the
prediction's window has passed (it has a PredictionOutcome) that becomes observable:

    d          = the prediction's date (the outcome's window_start - 1 day)
    intervened = the patient has an Intervention with status DONE dated d .. window_end
    actual_savings = addressable_cost   if intervened and not admitted
                     0                  otherwise

Not intervened: nothing was spent on purpose, so nothing is credited as saved. Intervened
and admitted: the intervention did not prevent the admission. So the share of intervened
projections without an admission is the observed success rate, comparable with the
policy's success_rate_min..max (docs/monitoring.md, "Interventions and realised ROI").
"""

import logging

from django.db import connection, transaction

SAVINGS_RULE_VERSION = "savings-v1"

logger = logging.getLogger(__name__)

# The interventions `i` that count for a projection `fp` whose outcome is `o`: the patient's,
# dated from the prediction's day to the window's end. Shared with the realised report
# (finance/realised_selectors.py) so that the page counts exactly what the rule credits.
IN_SPAN_SQL = (
    "i.patient_id = fp.patient_id AND i.intervention_date BETWEEN o.window_start - 1 "
    "AND o.window_end"
)
INTERVENED_SQL = (
    "EXISTS (SELECT 1 FROM interventions i "  # noqa: S608 (constants only)
    f"WHERE {IN_SPAN_SQL} AND i.status = 'DONE')"
)

# One UPDATE ... FROM for every projection concerned. Rows whose figures already follow the
# rule are left alone (no write, savings_realised_at kept): a re-run changes nothing.
_REALISE_SQL = f"""
UPDATE financial_projections AS target
   SET actual_savings = judged.savings,
       savings_rule_version = %(rule)s,
       savings_realised_at = now()
  FROM (
    SELECT fp.projection_id,
           CASE WHEN {INTERVENED_SQL} AND NOT o.admitted THEN fp.addressable_cost
                ELSE 0 END AS savings
      FROM financial_projections fp
      JOIN prediction_outcomes o ON o.prediction_id = fp.prediction_id
     WHERE %(all)s OR fp.prediction_id = ANY(%(ids)s::bigint[])
  ) AS judged
 WHERE target.projection_id = judged.projection_id
   AND (target.actual_savings, target.savings_rule_version)
       IS DISTINCT FROM (judged.savings, %(rule)s)
"""  # noqa: S608 (constants only; the values are parameters)


@transaction.atomic
def projections_realise(*, prediction_ids: list[int] | None = None, changed_by: str) -> int:
    """Set actual_savings (rule SAVINGS_RULE_VERSION) on the projections whose prediction has
    an outcome, restricted to `prediction_ids` when given. Returns the rows changed.

    Callers write their own audit row in the same transaction (OUTCOMES_EVALUATED for the
    outcome service, INTERVENTION_RECORDED for interventions); `changed_by` is logged."""
    if prediction_ids is not None and not prediction_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            _REALISE_SQL,
            {
                "rule": SAVINGS_RULE_VERSION,
                "all": prediction_ids is None,
                "ids": list(prediction_ids or []),
            },
        )
        changed = cursor.rowcount
    logger.info("%s projections realised (%s) by %s", changed, SAVINGS_RULE_VERSION, changed_by)
    return changed
