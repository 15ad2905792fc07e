from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from predictions.scoring_chunks import lease_holder_name
from predictions.scoring_runs import scoring_run_work, scoring_runs_sweep
from riskplatform.core.locks import one_at_a_time

# Database outages: retried with a backoff growing to TASK_RETRY_BACKOFF_MAX_SECONDS (five
# minutes), about half an hour in all; past that the sweep resumes the work once the database
# is back.
DATABASE_DOWN = (OperationalError, InterfaceError)
OUTAGE_RETRIES = {"autoretry_for": DATABASE_DOWN, "retry_backoff": 5,
                  "retry_backoff_max": settings.TASK_RETRY_BACKOFF_MAX_SECONDS,
                  "retry_jitter": True, "max_retries": 10}  # fmt: skip
RUN_TASK_LIMIT = settings.SCORING_TASK_BUDGET_SECONDS + 300


@shared_task(
    bind=True,
    name="predictions.score_run",
    soft_time_limit=RUN_TASK_LIMIT,
    time_limit=RUN_TASK_LIMIT + 60,
    **OUTAGE_RETRIES,
)
def score_run_task(self, run_id: int) -> dict:
    """Take part in a population run: claim chunks until none is left (docs/operations.md).
    Past its budget it hands over to a fresh message, so no task outlives the broker's
    visibility timeout; a run that ends here is followed by its comparison, if it has one."""
    done = scoring_run_work(
        run_id=run_id,
        holder=lease_holder_name(self.request.hostname),
        budget_seconds=settings.SCORING_TASK_BUDGET_SECONDS,
    )
    if done.budget_spent:
        self.apply_async(args=[run_id])
    if done.ended and done.run.status == "succeeded" and done.run.compare_with_id:
        compare_after_run_task.delay(run_id)
    return {"run_id": run_id, "status": done.run.status, "chunks_written": done.chunks}


@shared_task(name="predictions.sweep_scoring_runs", soft_time_limit=240, time_limit=300)
@one_at_a_time("predictions.sweep_scoring_runs")
def sweep_scoring_runs_task() -> dict:
    """Beat, every 30 s: plan, end or ask workers for any run nobody is moving; follow up
    finished re-evaluation runs whose comparison was lost with its message."""
    from predictions.reevaluation import runs_owing_comparison

    result = scoring_runs_sweep()
    owed = runs_owing_comparison()
    for run_id in owed:
        compare_after_run_task.delay(run_id)
    return {"planned": result.planned, "dispatched": result.dispatched, "ended": result.ended,
            "comparisons": owed}  # fmt: skip


@shared_task(name="predictions.score_pending", soft_time_limit=900, time_limit=960,
             **OUTAGE_RETRIES)  # fmt: skip
@one_at_a_time("predictions.score_pending")
def score_pending_task() -> dict:
    """Beat runs this every minute: patients saved while scoring was impossible (no model,
    database hiccup) are scored as soon as it is possible again."""
    from predictions.services import pending_patients_score

    run = pending_patients_score(changed_by="celery:score_pending")
    return {"patients_scored": run.patients_scored if run else 0}


@shared_task(name="predictions.reevaluate", soft_time_limit=3600, time_limit=3660,
             **OUTAGE_RETRIES)  # fmt: skip
@one_at_a_time("predictions.reevaluate")
def reevaluate_task(candidate: str | None = None, snapshot_id: int | None = None) -> dict:
    """Weekly by default (beat, editable in the admin): train a candidate on the latest
    training snapshot (or `snapshot_id`), or take `candidate`, and plan its scoring run;
    workers score it and the comparison follows when the run ends."""
    from predictions.reevaluation import model_reevaluation_start

    run = model_reevaluation_start(
        changed_by="celery:reevaluate", candidate=candidate, snapshot_id=snapshot_id
    )
    return {"run_id": run.pk, "candidate": run.model_version_id}


@shared_task(name="predictions.compare_after_run", soft_time_limit=1800, time_limit=1860,
             **OUTAGE_RETRIES)  # fmt: skip
def compare_after_run_task(run_id: int) -> dict:
    """Compare a re-evaluated candidate with its baseline once its run has succeeded (one
    comparison per run, however often this is delivered)."""
    from predictions.reevaluation import model_reevaluation_compare

    comparison = model_reevaluation_compare(run_id=run_id, changed_by="celery:reevaluate")
    return {"comparison_id": comparison.pk, "candidate": comparison.candidate_id}


@shared_task(
    name="predictions.evaluate_outcomes", soft_time_limit=1800, time_limit=1900, **OUTAGE_RETRIES
)
@one_at_a_time("predictions.evaluate_outcomes")
def evaluate_outcomes_task() -> dict:
    """Daily (beat): judge every prediction whose window has passed against the admissions
    known so far, correct outcomes that late admissions changed, realise the savings."""
    from predictions.outcomes import outcomes_evaluate

    result = outcomes_evaluate(changed_by="celery:evaluate_outcomes")
    return {"as_of": result.as_of.isoformat(), "written": result.written,
            "admitted": result.admitted, "realised": result.realised}  # fmt: skip


@shared_task(
    name="predictions.monitor_models", soft_time_limit=1800, time_limit=1900, **OUTAGE_RETRIES
)
@one_at_a_time("predictions.monitor_models")
def monitor_models_task() -> dict:
    """Daily (beat): monitor the active version and the candidates (observed performance,
    drift, warnings); with REEVALUATION_RETRAIN_ON_WARNING, a warning on the active version
    enqueues the re-evaluation at once."""
    from predictions.monitoring_services import models_monitor
    from predictions.reevaluation import reevaluation_enqueue_on_warning

    # No transaction around both: a failed run must stay recorded when the error propagates.
    runs = models_monitor(changed_by="celery:monitor_models")
    reevaluate = reevaluation_enqueue_on_warning()
    return {"runs": {run.model_version_id: run.run_id for run in runs},
            "warnings": sum(len(run.warnings) for run in runs),
            "reevaluation_enqueued": reevaluate}  # fmt: skip
