"""POST /api/patients/: token per client, per-field errors, three predictions back, and
never an internal id."""

import json

import pytest
from django.urls import reverse

from finance.models import FinancialProjection
from patients.models import Patient
from predictions.models import Prediction
from predictions.services import pending_patients_score
from riskplatform.core.api_auth import api_client_create
from riskplatform.core.models import AuditEvent, AuditLog
from tests.patients.csv_files import row

pytestmark = pytest.mark.django_db
URL = reverse("api-patients-create")


@pytest.fixture
def token():
    return api_client_create(name="ehr")[1]


def _post(client, body, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", **headers)


def _payload(**values):
    payload = row(9001, **values)
    return {k: v for k, v in payload.items() if v != ""}


def test_a_missing_or_wrong_token_is_refused(client, token):
    assert _post(client, _payload()).status_code == 401
    response = _post(client, _payload(), token="not-the-token")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert Patient.objects.count() == 0


def test_a_disabled_client_is_forbidden(client, token):
    from riskplatform.core.models import ApiClient

    ApiClient.objects.update(is_active=False)
    assert _post(client, _payload(), token=token).status_code == 403


def test_invalid_payload_gets_per_field_errors_and_writes_nothing(client, token):
    body = _payload(age="130", has_chf="7", gender="Q", department_code="XRAY")
    del body["race"]
    response = _post(client, body, token=token)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"age", "has_chf", "gender", "race", "department_code"}
    # The importer's words (the same field specifications): patients/import_schema.py.
    assert errors["age"] == ["must be between 0 and 120"]
    assert errors["department_code"] == ["is not a known department code"]
    assert {"field": "age", "value": "130", "reason": "must be between 0 and 120"} in (
        response.json()["fields"]
    )
    assert Patient.objects.count() == 0
    assert _post(client, "{not json", token=token).json() == {
        "errors": {"__all__": ["The body is not valid JSON."]}
    }


def test_a_new_patient_is_stored_and_scored_in_the_request(
    client, token, active_version, django_assert_max_num_queries
):
    with django_assert_max_num_queries(40):
        response = _post(client, _payload(has_ckd="2", is_elderly=True, age=81), token=token)
    assert response.status_code == 201
    body = response.json()
    patient = Patient.objects.get(patient_uuid=body["patient_uuid"])
    assert (body["scoring_status"], body["model_version"], body["department"]) == (
        "scored",
        "v1.0",
        "NEPHRO",
    )
    assert set(body["predictions"]) == {"30_day", "60_day", "90_day"}
    stored = {p.prediction_window: p for p in Prediction.objects.filter(patient=patient)}
    for window, answer in body["predictions"].items():
        projection = stored[window].projection
        assert answer["risk_score"] == float(stored[window].risk_score)
        assert answer["expected_savings"] == str(projection.expected_savings)
        assert answer["roi_category"] == projection.roi_category
    assert FinancialProjection.objects.filter(patient=patient).count() == 3
    assert patient.data_source == "NEW_PATIENT" and patient.created_by == "api:ehr"
    assert AuditLog.objects.filter(event_type=AuditEvent.PATIENT_ADDED, entity_id=patient.pk)
    assert patient.history.count() == 1
    text = response.content.decode()
    assert "patient_id" not in text and f'"{patient.pk}"' not in text


def test_without_an_active_model_the_patient_waits_and_is_scored_later(client, token, toy_models):
    from predictions.services import model_version_activate, model_version_register

    response = _post(client, _payload(), token=token)
    assert response.status_code == 201
    assert response.json()["scoring_status"] == "pending"
    patient = Patient.objects.get(patient_uuid=response.json()["patient_uuid"])
    assert not Prediction.objects.exists()

    model_version_register(
        version="v1.0", models=toy_models.models, encoding=toy_models.encoding, changed_by="test"
    )
    model_version_activate(version="v1.0", changed_by="test")
    run = pending_patients_score(changed_by="celery:score_pending")
    assert run.patients_scored == 1
    assert Prediction.objects.filter(patient=patient, superseded_at__isnull=True).count() == 3
    assert pending_patients_score(changed_by="celery:score_pending") is None


def test_a_known_external_id_with_other_values_is_a_conflict(client, token, active_version):
    first = _post(client, _payload(), token=token)
    assert first.status_code == 201
    again = _post(client, _payload(), token=token)  # a retry: the first answer again
    assert (again.status_code, again.json()) == (201, first.json())
    response = _post(client, _payload(age="73"), token=token)
    assert response.status_code == 409
    assert list(response.json()["errors"]) == ["external_id"]
    assert Patient.objects.count() == 1
