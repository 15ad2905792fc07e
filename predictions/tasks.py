from celery import shared_task
from django.db import OperationalError

from predictions.scoring import population_score


@shared_task(
    name="predictions.score_population",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=3 * 3600,
    time_limit=3 * 3600 + 300,
)
def score_population_task(run_id: int) -> dict:
    # A retry resumes the same run: scoring skips patients already scored.
    run = population_score(run_id=run_id)
    return {"run_id": run.pk, "status": run.status, "patients_scored": run.patients_scored}


@shared_task(
    name="predictions.score_pending",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=1800,
    time_limit=1900,
)
def score_pending_task() -> dict:
    """Beat runs this every minute: patients saved while scoring was impossible (no model,
    database hiccup) are scored as soon as it is possible again."""
    from predictions.services import pending_patients_score

    run = pending_patients_score(changed_by="celery:score_pending")
    return {"patients_scored": run.patients_scored if run else 0}


@shared_task(
    name="predictions.reevaluate",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=2,
    soft_time_limit=4 * 3600,
    time_limit=4 * 3600 + 300,
)
def reevaluate_task(candidate: str | None = None, snapshot_id: int | None = None) -> dict:
    """Weekly by default (beat, editable in the admin): train a candidate on the latest
    training snapshot (or `snapshot_id`), or take `candidate`, score everyone under it,
    compare with the active version."""
    from predictions.reevaluation import model_reevaluate

    comparison = model_reevaluate(
        changed_by="celery:reevaluate", candidate=candidate, snapshot_id=snapshot_id
    )
    return {"comparison_id": comparison.pk, "candidate": comparison.candidate_id}


@shared_task(
    name="predictions.evaluate_outcomes",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=1800,
    time_limit=1900,
)
def evaluate_outcomes_task() -> dict:
    """Daily (beat): judge every prediction whose window has passed against the admissions
    known so far, correct outcomes that late admissions changed, realise the savings."""
    from predictions.outcomes import outcomes_evaluate

    result = outcomes_evaluate(changed_by="celery:evaluate_outcomes")
    return {"as_of": result.as_of.isoformat(), "written": result.written,
            "admitted": result.admitted, "realised": result.realised}  # fmt: skip


@shared_task(
    name="predictions.monitor_models",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=1800,
    time_limit=1900,
)
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
