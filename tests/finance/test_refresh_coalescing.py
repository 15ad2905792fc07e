"""Real-time refreshes are coalesced (a burst costs one refresh), and a broker outage loses
nothing: the patient is scored in the request and the stale-views sweep catches up."""

import json
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse

from finance import refresh
from predictions.matviews import OrgTierSummary
from riskplatform.celery import app
from riskplatform.core.models import AuditEvent, AuditLog
from tests.factories import PatientFactory, PatientFeaturesFactory

DEAD_REDIS = "redis://127.0.0.1:1/0"


def _refresh_events() -> int:
    return AuditLog.objects.filter(event_type=AuditEvent.VIEW_REFRESH).count()


@pytest.fixture
def clean_refresh_keys():
    client = refresh._redis()
    client.delete(refresh.LAST_REQUEST, refresh.FIRST_REQUEST, refresh.SCHEDULED)
    yield
    client.delete(refresh.LAST_REQUEST, refresh.FIRST_REQUEST, refresh.SCHEDULED)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_burst_of_new_patients_causes_one_refresh(
    reference_data, active_version, clean_refresh_keys
):
    from predictions.services import patient_score

    patients = [PatientFeaturesFactory(patient=PatientFactory()).patient for _ in range(15)]
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        for patient in patients:
            patient_score(patient_id=patient.pk, changed_by="api:test")  # commits: on_commit runs
        burst_end = time.monotonic()
        deadline = burst_end + 20
        while _refresh_events() == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        refreshed_after = time.monotonic() - burst_end
        time.sleep(refresh.QUIET_SECONDS + 2)  # room for a second refresh, if there were one
    app.control.purge()
    assert _refresh_events() == 1
    assert refreshed_after < 10
    counts = OrgTierSummary.objects.filter(prediction_window="30_day")
    assert sum(row.patient_count for row in counts) == 15


@pytest.mark.django_db
def test_with_redis_down_the_patient_is_scored_and_the_sweep_catches_up(
    client, active_version, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from finance.tasks import refresh_views_if_stale_task
    from riskplatform.core.api_auth import api_client_create
    from tests.patients.csv_files import row

    token = api_client_create(name="ehr")[1]
    settings.REDIS_URL = DEAD_REDIS
    monkeypatch.setattr(app.conf, "broker_url", DEAD_REDIS)
    body = {k: v for k, v in row(7001).items() if v != ""}
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("api-patients-create"), data=json.dumps(body),
            content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
        )  # fmt: skip
    assert time.monotonic() - started < 10
    assert response.status_code == 201
    assert response.json()["scoring_status"] == "scored"
    assert refresh.views_are_stale()

    assert refresh_views_if_stale_task() is True  # what beat runs every minute
    assert not refresh.views_are_stale()
    assert sum(r.patient_count for r in OrgTierSummary.objects.filter(prediction_window="90_day"))
