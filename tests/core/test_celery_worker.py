"""A real Celery worker on the real Redis broker (not eager mode)."""

import pytest
from celery.contrib.testing.worker import start_worker

from finance.tasks import refresh_views_task
from riskplatform.celery import app
from riskplatform.core.models import AuditEvent, AuditLog


@pytest.fixture
def celery_worker(transactional_db):
    app.loader.import_module("celery.contrib.testing.tasks")  # registers celery.ping
    with start_worker(app, pool="solo", perform_ping_check=True, shutdown_timeout=30) as worker:
        yield worker


@pytest.mark.celery_worker
def test_worker_answers_ping_and_runs_a_task(celery_worker):
    replies = app.control.ping(timeout=5)
    assert any(reply for reply in replies), replies

    timings = refresh_views_task.delay().get(timeout=60)

    assert set(timings) == {"org_tier_summary", "dept_risk_distribution", "roi_positive_patients"}
    event = AuditLog.objects.get(event_type=AuditEvent.VIEW_REFRESH)
    assert event.changed_by == "celery:refresh_views"
