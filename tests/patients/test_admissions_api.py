"""POST /api/admissions/: bearer token, one admission or a list, all or nothing, row/field
errors, and never an internal id."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from patients.models import Admission, AdmissionSource
from riskplatform.core.api_auth import api_client_create
from riskplatform.core.models import ApiClient, AuditEvent, AuditLog
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
URL = reverse("api-admissions-create")


@pytest.fixture
def token():
    return api_client_create(name="ehr")[1]


@pytest.fixture
def patients():
    return [PatientFactory(external_id=f"A-{i}") for i in range(1, 4)]


def _post(client, body, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", **headers)


def _no_internal_ids(body: dict) -> None:
    # Patients are named by patient_uuid only; admissions by (patient_uuid, admission_date).
    assert set(body) == {"rows", "created", "updated", "unchanged", "admissions"}
    for admission in body["admissions"]:
        assert set(admission) == {"row", "patient_uuid", "admission_date", "status"}


def test_a_missing_or_wrong_token_is_refused(client, patients, token):
    body = {"external_id": "A-1", "admission_date": "2024-03-05", "stay_cost": "100.00"}
    assert _post(client, body).status_code == 401
    response = _post(client, body, token="not-the-token")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    ApiClient.objects.update(is_active=False)
    assert _post(client, body, token=token).status_code == 403
    assert Admission.objects.count() == 0


def test_one_admission_is_recorded(client, token, patients):
    body = {
        "external_id": "A-1",
        "admission_date": "2024-03-05",
        "discharge_date": "2024-03-08",
        "stay_cost": 11250.10,
    }
    response = _post(client, body, token=token)
    assert response.status_code == 201
    answer = response.json()
    assert answer == {
        "rows": 1,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "admissions": [
            {
                "row": 1,
                "patient_uuid": str(patients[0].patient_uuid),
                "admission_date": "2024-03-05",
                "status": "created",
            }
        ],
    }
    admission = Admission.objects.get()
    # A JSON number is read as a decimal: the cost is exactly what was sent.
    assert (admission.stay_cost, admission.source, admission.created_by) == (
        Decimal("11250.10"),
        AdmissionSource.API,
        "api:ehr",
    )
    assert admission.history.get().history_type == "+"
    event = AuditLog.objects.get(event_type=AuditEvent.ADMISSIONS_IMPORTED)
    assert event.changed_by == "api:ehr"
    assert {k: event.new_values[k] for k in ("source", "rows", "created", "updated")} == {
        "source": "API",
        "rows": 1,
        "created": 1,
        "updated": 0,
    }


def test_a_list_is_recorded_and_resent_unchanged(client, token, patients):
    body = {
        "admissions": [
            {"external_id": "A-1", "admission_date": "2024-03-05", "stay_cost": "100.00"},
            {
                "patient_uuid": str(patients[1].patient_uuid),
                "admission_date": "2024-03-06",
                "stay_cost": "200",
            },
        ]
    }
    first = _post(client, body, token=token)
    assert first.status_code == 201
    assert {k: first.json()[k] for k in ("rows", "created", "updated", "unchanged")} == {
        "rows": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
    }
    again = _post(client, body, token=token).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert [a["status"] for a in again["admissions"]] == ["unchanged", "unchanged"]
    body["admissions"][1]["stay_cost"] = "250.00"
    changed = _post(client, body, token=token).json()
    assert (changed["created"], changed["updated"], changed["unchanged"]) == (0, 1, 1)
    assert Admission.objects.count() == 2
    assert Admission.objects.get(patient=patients[1]).stay_cost == Decimal("250.00")
    for answer in (first.json(), again, changed):
        _no_internal_ids(answer)


def test_bad_rows_get_row_and_field_errors_and_nothing_is_written(client, token, patients):
    body = {
        "admissions": [
            {"external_id": "A-1", "admission_date": "2024-03-05", "stay_cost": "100.00"},
            {"external_id": "A-404", "admission_date": "2024-03-05", "stay_cost": "-1"},
            {"admission_date": "2024-03-05", "discharge_date": "2024-03-01", "stay_cost": 5},
            "not an object",
        ]
    }
    response = _post(client, body, token=token)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["__all__"] == ["5 error(s) in 3 of 4 row(s); nothing was written."]

    def error(row, field, value, reason):
        return {"row": row, "field": field, "value": value, "reason": reason}

    assert errors["rows"] == [
        error(2, "external_id", "A-404", "no patient has this external_id"),
        error(2, "stay_cost", "-1", "must be between 0 and 99999999.99"),
        error(3, "discharge_date", "2024-03-01", "is before the admission_date 2024-03-05"),
        error(3, "external_id", "", "is required (or patient_uuid)"),
        error(4, "(row)", "not an object", "is not an object of fields"),
    ]
    assert Admission.objects.count() == 0
    assert not AuditLog.objects.filter(event_type=AuditEvent.ADMISSIONS_IMPORTED).exists()
    assert "patient_id" not in response.content.decode()


def test_unknown_patients_are_named(client, token, patients):
    body = {
        "admissions": [{"external_id": "A-404", "admission_date": "2024-03-05", "stay_cost": 1}]
    }
    errors = _post(client, body, token=token).json()["errors"]
    assert errors["rows"] == [
        {
            "row": 1,
            "field": "external_id",
            "value": "A-404",
            "reason": "no patient has this external_id",
        }
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "The body is not valid JSON."),
        ([1, 2], 'The body must be a JSON object: one admission or {"admissions": [...]}.'),
        ({"admissions": []}, '"admissions" must be a non-empty list of admission objects.'),
        ({"admissions": {"external_id": "A-1"}}, '"admissions" must be a non-empty list of '
         "admission objects."),
        ({"admissions": [{}], "stay_cost": 1}, '"admissions" cannot be combined with other '
         "fields."),
    ],
)  # fmt: skip
def test_a_body_without_admissions_is_refused(client, token, body, message):
    response = _post(client, body, token=token)
    assert response.status_code == 400
    assert response.json() == {"errors": {"__all__": [message]}}


def test_get_is_not_allowed(client, token):
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 405


def test_a_200_row_request_does_not_query_per_row(client, token, django_assert_max_num_queries):
    rows = [
        {
            "external_id": PatientFactory().external_id,
            "admission_date": "2024-03-05",
            "stay_cost": 1,
        }
        for _ in range(200)
    ]
    # token + last use + resolve + insert + history + audit (+ savepoints)
    with django_assert_max_num_queries(12):
        response = _post(client, {"admissions": rows}, token=token)
    assert response.status_code == 201 and response.json()["created"] == 200
    assert Admission.objects.count() == 200
