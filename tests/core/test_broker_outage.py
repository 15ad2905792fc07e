"""A real broker stopped and started again: a patient submitted while it is down is saved and
scored, the views are left stale (the refresh could not be queued), and once the broker is
back the beat's stale-views sweep, run by a real worker, brings them up to date."""

import json

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse

from finance import refresh
from predictions.matviews import OrgTierSummary
from riskplatform.celery import app
from riskplatform.drills.servers import PrivateRedis

pytestmark = pytest.mark.celery_worker


@pytest.fixture
def private_broker(tmp_path, settings):
    broker = PrivateRedis(tmp_path)
    broker.start()
    saved = app.conf.broker_url
    settings.REDIS_URL = broker.url
    _point_celery_at(broker.url)
    yield broker
    if broker.server:
        broker.stop()
    _point_celery_at(saved)


def _point_celery_at(url: str) -> None:
    # Celery builds its connection and producer pools once; drop them so the next message
    # goes to `url`.
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.django_db(transaction=True)
def test_patients_submitted_while_the_broker_is_down_are_scored_and_shown_later(
    client, reference_data, active_version, private_broker
):
    from finance.tasks import refresh_views_if_stale_task
    from riskplatform.core.api_auth import api_client_create
    from tests.patients.csv_files import row

    token = api_client_create(name="ehr")[1]
    private_broker.stop()
    assert not private_broker.answers()

    body = {k: v for k, v in row(7002).items() if v != ""}
    response = client.post(
        reverse("api-patients-create"), data=json.dumps(body),
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert response.status_code == 201
    assert response.json()["scoring_status"] == "scored"
    assert refresh.views_are_stale()  # the refresh request died with the broker

    private_broker.start()
    assert private_broker.answers()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        refresh_views_if_stale_task.delay().get(timeout=60)  # what beat sends every minute
    assert not refresh.views_are_stale()
    shown = OrgTierSummary.objects.filter(prediction_window="90_day")
    assert sum(row.patient_count for row in shown) == 1
