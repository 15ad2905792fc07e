"""Retries of POST /api/patients/ and /api/admissions/: the same Idempotency-Key (or, for a
patient, the same external_id) and body get the first answer; another body a 409. The real
outage and the concurrent twins are in tests/faults/test_api_outage.py."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import Admission, Patient
from riskplatform.core.api_auth import api_client_create
from riskplatform.core.idempotency import idempotency_keys_purge
from riskplatform.core.models import ApiIdempotencyKey, AuditEvent, AuditLog
from riskplatform.core.tasks import purge_idempotency_keys_task
from tests.factories import PatientFactory
from tests.patients.csv_files import row

pytestmark = pytest.mark.django_db
PATIENTS = reverse("api-patients-create")
ADMISSIONS = reverse("api-admissions-create")


@pytest.fixture
def token():
    return api_client_create(name="ehr")[1]


def _post(client, url, body, token, key=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def _patient(**values):
    return {k: v for k, v in row(9001, **values).items() if v != ""}


def _anonymous_patient(**values):
    body = _patient(**values)
    del body["external_id"]
    return body


def test_a_retry_with_the_same_key_gets_the_first_answer(client, token, active_version):
    first = _post(client, PATIENTS, _anonymous_patient(), token, key="msg-0001")
    assert first.status_code == 201
    again = _post(client, PATIENTS, _anonymous_patient(), token, key="msg-0001")
    assert (again.status_code, again.json()) == (201, first.json())
    assert Patient.objects.count() == 1
    assert AuditLog.objects.filter(event_type=AuditEvent.PATIENT_ADDED).count() == 1
    # The same body under a new key is a new submission (no external_id to recognise it by).
    other = _post(client, PATIENTS, _anonymous_patient(), token, key="msg-0002")
    assert other.status_code == 201 and other.json() != first.json()
    assert Patient.objects.count() == 2


def test_the_same_key_with_another_body_is_a_conflict(client, token, active_version):
    assert _post(client, PATIENTS, _anonymous_patient(), token, key="k1").status_code == 201
    response = _post(client, PATIENTS, _anonymous_patient(age="80"), token, key="k1")
    assert response.status_code == 409
    assert "different request body" in response.json()["errors"]["__all__"][0]
    assert Patient.objects.count() == 1


def test_key_order_and_whitespace_do_not_make_another_body(client, token, active_version):
    body = _anonymous_patient()
    first = _post(client, PATIENTS, body, token, key="k1")
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_IDEMPOTENCY_KEY": "k1"}
    again = client.post(PATIENTS, data=reordered, content_type="application/json", **headers)
    assert (again.status_code, again.json()) == (201, first.json())


def test_without_the_header_the_external_id_recognises_a_retry(client, token, active_version):
    first = _post(client, PATIENTS, _patient(), token)
    again = _post(client, PATIENTS, _patient(), token)
    assert (again.status_code, again.json()) == (201, first.json())
    # A retry without the header of a submission that had one is recognised too.
    keyed = _post(client, PATIENTS, _patient(external_id="P-2"), token, key="k9")
    assert _post(client, PATIENTS, _patient(external_id="P-2"), token).json() == keyed.json()
    changed = _post(client, PATIENTS, _patient(age="80"), token)
    assert changed.status_code == 409
    assert "different values" in changed.json()["errors"]["external_id"][0]
    assert Patient.objects.count() == 2


def test_an_external_id_known_from_elsewhere_is_a_conflict(client, token, active_version):
    PatientFactory(external_id="P-IMPORTED")  # imported from a file: no kept answer
    response = _post(client, PATIENTS, _patient(external_id="P-IMPORTED"), token, key="k1")
    assert response.status_code == 409
    assert response.json() == {
        "errors": {"external_id": ["A patient with this external_id already exists."]}
    }
    # An error is not kept: the key is still free for a corrected submission.
    assert not ApiIdempotencyKey.objects.exists()
    fixed = _post(client, PATIENTS, _patient(external_id="P-NEW"), token, key="k1")
    assert fixed.status_code == 201


def test_keys_belong_to_one_client(client, token, active_version):
    other = api_client_create(name="ehr south")[1]
    first = _post(client, PATIENTS, _anonymous_patient(), token, key="k1")
    second = _post(client, PATIENTS, _anonymous_patient(), other, key="k1")
    assert second.status_code == 201 and second.json() != first.json()


def test_a_malformed_key_is_refused(client, token):
    response = _post(client, PATIENTS, _patient(), token, key="x" * 256)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]["__all__"][0]
    assert not Patient.objects.exists()


def test_the_kept_answer_names_the_patient_by_uuid_only(client, token, active_version):
    _post(client, PATIENTS, _patient(), token, key="k1")
    patient = Patient.objects.get()
    for kept in ApiIdempotencyKey.objects.all():
        assert set(kept.response_body) == {
            "patient_uuid", "department", "scoring_status", "model_version", "predictions"
        }  # fmt: skip
        assert kept.response_body["patient_uuid"] == str(patient.patient_uuid)
        assert "patient_id" not in json.dumps(kept.response_body)
    assert {k.endpoint for k in ApiIdempotencyKey.objects.all()} == {
        "patients",
        "patients:external_id",
    }


def test_an_expired_key_is_free_again_and_the_hourly_task_purges(client, token, active_version):
    first = _post(client, PATIENTS, _anonymous_patient(), token, key="k1")
    day_ago = timezone.now() - timedelta(hours=25)
    ApiIdempotencyKey.objects.update(created_at=day_ago)
    again = _post(client, PATIENTS, _anonymous_patient(), token, key="k1")
    assert again.status_code == 201 and again.json() != first.json()
    assert Patient.objects.count() == 2

    ApiIdempotencyKey.objects.create(
        api_client=ApiIdempotencyKey.objects.get().api_client, endpoint="patients", key="old",
        request_sha256="0" * 64, response_status=201, response_body={}, created_at=day_ago,
    )  # fmt: skip
    assert purge_idempotency_keys_task.apply().get() == 1  # what beat sends every hour
    assert list(ApiIdempotencyKey.objects.values_list("key", flat=True)) == ["k1"]
    assert idempotency_keys_purge(older_than=timedelta(0)) == 1


def test_an_admissions_retry_gets_the_first_answer(client, token):
    PatientFactory(external_id="A-1")
    body = {"external_id": "A-1", "admission_date": "2024-03-05", "stay_cost": "100.00"}
    first = _post(client, ADMISSIONS, body, token, key="adm-1")
    assert first.status_code == 201 and first.json()["created"] == 1
    again = _post(client, ADMISSIONS, body, token, key="adm-1")
    assert (again.status_code, again.json()) == (201, first.json())
    assert Admission.objects.count() == 1
    changed = _post(client, ADMISSIONS, {**body, "stay_cost": "200.00"}, token, key="adm-1")
    assert changed.status_code == 409
    # Without the header a repeat is recorded again (and found unchanged), as before.
    assert _post(client, ADMISSIONS, body, token).json()["unchanged"] == 1


def test_a_rejected_admission_is_not_kept(client, token):
    body = {"external_id": "A-404", "admission_date": "2024-03-05", "stay_cost": "100.00"}
    assert _post(client, ADMISSIONS, body, token, key="adm-1").status_code == 400
    PatientFactory(external_id="A-404")  # the patient arrives; the retry now succeeds
    assert _post(client, ADMISSIONS, body, token, key="adm-1").status_code == 201
