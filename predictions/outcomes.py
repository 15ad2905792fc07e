"""Judge predictions against what happened: for every prediction whose window has passed,
was the patient admitted inside it? (Rule `OUTCOME_RULE_VERSION`, docs/monitoring.md.)

A prediction made on day d (its timestamp's date, as the projections' `projected_date`
reads it) for an N-day window covers admissions dated d + 1 to d + N inclusive; an
admission on day d itself came before or with the score, not after it. The window has
passed once the day d + N is over, that is from d + N + 1.
"""

from dataclasses import dataclass
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from riskplatform.core.db import tables_analyze
from riskplatform.core.models import AuditEvent
from riskplatform.core.services import audit_event_record
from riskplatform.core.windows import window_days_sql_pairs

OUTCOME_RULE_VERSION = "window-v1"
# After a large evaluation (the first one, or a back-test) the report's plans need fresh
# statistics on the outcomes and the rewritten projections.
ANALYZE_AFTER_ROWS = 10_000


@dataclass(frozen=True)
class OutcomesEvaluated:
    as_of: date
    written: int  # new outcomes plus outcomes changed by late admissions
    admitted: int  # of those written
    realised: int  # projections whose actual savings were (re)computed


# New outcomes and the ones a late-arriving admission changes; unchanged rows are left
# alone (no write, no RETURNING), so a daily re-run over all passed windows is cheap.
_OUTCOMES_UPSERT = f"""
WITH passed AS (
    SELECT pr.prediction_id, pr.patient_id,
           pr.prediction_timestamp::date + 1 AS window_start,
           pr.prediction_timestamp::date + w.days AS window_end
    FROM predictions pr
    JOIN (VALUES {window_days_sql_pairs()}) AS w(prediction_window, days)
      ON w.prediction_window = pr.prediction_window
    WHERE pr.prediction_timestamp::date + w.days < %(as_of)s
)
INSERT INTO prediction_outcomes AS o
    (prediction_id, window_start, window_end, admitted, first_admission_date, rule_version,
     evaluated_at)
SELECT p.prediction_id, p.window_start, p.window_end, a.first_date IS NOT NULL, a.first_date,
       %(rule)s, now()
FROM passed p
LEFT JOIN LATERAL (
    SELECT min(ad.admission_date) AS first_date
    FROM admissions ad
    WHERE ad.patient_id = p.patient_id
      AND ad.admission_date BETWEEN p.window_start AND p.window_end
) a ON true
ON CONFLICT (prediction_id) DO UPDATE
   SET admitted = EXCLUDED.admitted,
       first_admission_date = EXCLUDED.first_admission_date,
       window_start = EXCLUDED.window_start,
       window_end = EXCLUDED.window_end,
       rule_version = EXCLUDED.rule_version,
       evaluated_at = EXCLUDED.evaluated_at
   WHERE (o.admitted, o.first_admission_date, o.window_start, o.window_end, o.rule_version)
         IS DISTINCT FROM
         (EXCLUDED.admitted, EXCLUDED.first_admission_date, EXCLUDED.window_start,
          EXCLUDED.window_end, EXCLUDED.rule_version)
RETURNING prediction_id, admitted
"""  # noqa: S608 (constants only; the values are parameters)


@transaction.atomic
def outcomes_evaluate(*, changed_by: str, as_of: date | None = None) -> OutcomesEvaluated:
    """Write (or correct) the outcome of every prediction whose window ended before `as_of`
    (today by default), then realise the projections' savings from them, in one transaction
    with its OUTCOMES_EVALUATED audit row. Idempotent: a re-run writes nothing."""
    from finance.realisation import projections_realise

    as_of = as_of or timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(_OUTCOMES_UPSERT, {"as_of": as_of, "rule": OUTCOME_RULE_VERSION})
        rows = cursor.fetchall()
    prediction_ids = [prediction_id for prediction_id, _ in rows]
    realised = (
        projections_realise(prediction_ids=prediction_ids, changed_by=changed_by)
        if prediction_ids
        else 0
    )
    result = OutcomesEvaluated(
        as_of=as_of,
        written=len(rows),
        admitted=sum(1 for _, admitted in rows if admitted),
        realised=realised,
    )
    audit_event_record(
        event_type=AuditEvent.OUTCOMES_EVALUATED,
        changed_by=changed_by,
        entity_type="PREDICTION_OUTCOMES",
        new_values={
            "as_of": as_of.isoformat(),
            "rule_version": OUTCOME_RULE_VERSION,
            "outcomes_written": result.written,
            "admitted": result.admitted,
            "projections_realised": result.realised,
        },
    )
    if result.written >= ANALYZE_AFTER_ROWS:
        transaction.on_commit(
            lambda: tables_analyze("prediction_outcomes", "financial_projections")
        )
    return result
