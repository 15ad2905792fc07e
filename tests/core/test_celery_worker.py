"""A real Celery worker on the real Redis broker (not eager mode)."""

import pytest
from celery.contrib.testing.worker import start_worker

from finance.tasks import refresh_views_task
from riskplatform.celery import app
from riskplatform.core.models import AuditEvent, AuditLog


@pytest.fixture
def celery_worker(transactional_db):
    app.loader.import_module("celery.contrib.testing.tasks")  # registers celery.ping
    app.control.purge()  # tasks other tests left queued (a postponed refresh, say) stay theirs
    with start_worker(app, pool="solo", perform_ping_check=True, shutdown_timeout=30) as worker:
        yield worker


@pytest.mark.celery_worker
def test_worker_answers_ping_and_runs_a_task(celery_worker):
    replies = app.control.ping(timeout=5)
    assert any(reply for reply in replies), replies

    timings = refresh_views_task.delay().get(timeout=60)

    assert set(timings) == {
        "org_tier_summary",
        "dept_risk_distribution",
        "roi_positive_patients",
        "roi_tier_summary",
    }
    event = AuditLog.objects.get(event_type=AuditEvent.VIEW_REFRESH)
    assert event.changed_by == "celery:refresh_views"


@pytest.mark.celery_worker
def test_worker_scores_a_population_through_the_task(
    celery_worker, reference_data, toy_models, patients_with_features
):
    from predictions.model_store import model_cache_clear
    from predictions.models import Prediction, ScoringRun
    from predictions.scoring_runs import scoring_run_create
    from predictions.services import model_version_activate, model_version_register
    from predictions.tasks import score_run_task

    model_cache_clear()
    model_version_register(
        version="v1.0", models=toy_models.models, encoding=toy_models.encoding, changed_by="test"
    )
    model_version_activate(version="v1.0", changed_by="test")
    run = scoring_run_create(version="v1.0", changed_by="test", chunk_size=10)

    result = score_run_task.delay(run.pk).get(timeout=120)

    assert result == {"run_id": run.pk, "status": "succeeded", "chunks_written": 3}
    assert ScoringRun.objects.get(pk=run.pk).chunks_done == 3
    assert Prediction.objects.filter(model_version_id="v1.0").count() == 75
