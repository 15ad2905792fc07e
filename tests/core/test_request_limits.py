"""No input answers 500: bodies over the size limit (JSON 413), JSON Python's parser chokes
on (nesting, a 5,000-digit integer, a lone surrogate, NaN, NUL: JSON 400), NUL in addresses
(400), page numbers past bigint, digits that are not ASCII, and six concurrent submissions
of one new external_id (201 once, the first answer or 409 for the others, one patient)."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from patients.models import Admission, Patient
from riskplatform.core.api_auth import api_client_create
from riskplatform.core.roles import Role
from tests.factories import user_with_role
from tests.patients.csv_files import row

pytestmark = pytest.mark.django_db
PATIENTS = reverse("api-patients-create")
ADMISSIONS = reverse("api-admissions-create")


@pytest.fixture
def token():
    return api_client_create(name="ehr")[1]


@pytest.fixture
def client():
    # What clients get, not the exception re-raised into the test.
    return Client(raise_request_exception=False)


def _post(client, url, data: str | bytes, token, **headers):
    return client.post(
        url, data=data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
        **headers,
    )  # fmt: skip


def _payload(**values) -> dict:
    return {k: v for k, v in row(9001, **values).items() if v != ""}


def _error(response, status: int) -> str:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    [message] = response.json()["errors"]["__all__"]
    return message


@pytest.mark.parametrize("url", [PATIENTS, ADMISSIONS])
def test_a_body_over_the_limit_is_a_json_413_read_no_further(client, token, url, settings):
    body = json.dumps({"external_id": "P-1", "pad": "x" * (10 * 1024 * 1024)})
    message = _error(_post(client, url, body, token), 413)
    assert (
        message == f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
    )
    assert Patient.objects.count() == 0 and Admission.objects.count() == 0


def test_the_limit_is_a_setting(client, token, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    _error(_post(client, PATIENTS, json.dumps(_payload()), token), 413)


def test_pages_keep_djangos_answer_to_a_body_over_the_limit(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = client.post(reverse("login"), {"username": "x" * 200, "password": "y"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


BAD_BODIES = {
    "nested-100000": "[" * 100_000 + "]" * 100_000,
    "nested-50": '{"a":' * 50 + "1" + "}" * 50,
    "five-thousand-digits": '{"age": ' + "7" * 5000 + "}",
    "lone-surrogate": '{"external_id": "\\ud800"}',
    "lone-surrogate-key": '{"\\udfff": 1}',
    "nul": '{"external_id": "P\\u0000X"}',
    "nan": '{"age": NaN}',
    "infinity": '{"annual_cost": -Infinity}',
    "latin-1": b'{"external_id": "M\xfcller"}',
    "truncated": '{"external_id": ',
}
# Both APIs read numbers as text and leave text values to the field specifications: these
# bodies parse, and the answer names the field.
FIELD_CASES = {"five-thousand-digits": "age", "lone-surrogate": "external_id",
               "nul": "external_id"}  # fmt: skip
BAD_MESSAGES = {
    "nested-100000": "The body is nested more than 20 levels deep.",
    "nested-50": "The body is nested more than 20 levels deep.",
    "five-thousand-digits": "The body is not valid JSON.",
    "lone-surrogate": "The body contains a lone surrogate (such as \\ud800): not a character.",
    "lone-surrogate-key": "The body contains a lone surrogate (such as \\ud800): not a character.",
    "nul": "The body contains a NUL character (\\u0000).",
    "nan": "NaN is not a JSON number.",
    "infinity": "-Infinity is not a JSON number.",
    "latin-1": "The body is not valid JSON.",
    "truncated": "The body is not valid JSON.",
}


@pytest.mark.parametrize("url", [PATIENTS, ADMISSIONS])
@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_json_the_parser_chokes_on_is_a_json_400(client, token, url, case):
    if case in FIELD_CASES:
        # Read, then refused by the field specifications with the field named.
        response = _post(client, url, BAD_BODIES[case], token)
        assert response.status_code == 400 and response["Content-Type"] == "application/json"
        assert FIELD_CASES[case] in response.content.decode()
    else:
        assert _error(_post(client, url, BAD_BODIES[case], token), 400) == BAD_MESSAGES[case]
    assert Patient.objects.count() == 0 and Admission.objects.count() == 0


def test_twenty_levels_are_still_read(client, token):
    # Nested 20 deep: parsed, then refused by the form as not a patient.
    body = {"admissions": [{"external_id": "P-1", "x": [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}]}
    response = _post(client, ADMISSIONS, json.dumps(body), token)
    assert response.status_code == 400
    assert "nested" not in response.content.decode()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/patients/%00/", 400),
        ("/api/patients/?x=%00", 400),
        ("/api/%00", 400),
        ("/models/%00/", 400),
        ("/models/v1%00/", 400),
        ("/worklists/CARDIO/30_day/?page=1%00", 400),
        ("/admin/patients/patient/?q=%00", 400),
        ("/admin/patients/patient/%00/change/", 400),
        ("/reports/realised/?department=%00", 400),
        ("/accounts/login/?next=%00", 400),
    ],
)
def test_a_nul_in_the_address_is_a_400(admin_client, path, status):
    admin_client.raise_request_exception = False
    response = admin_client.get(path)
    assert response.status_code == status
    if path.startswith("/api/"):
        assert _error(response, status) == "The address contains a NUL character (%00)."


def test_another_method_on_the_api_is_a_json_405_with_allow(client, token):
    response = client.get(PATIENTS, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert _error(response, 405) == "This method is not allowed here."
    assert response["Allow"] == "POST"


@pytest.fixture
def coordinator_client(client, department):
    client.force_login(user_with_role("cardio", Role.COORDINATOR, (department.department_code,)))
    return client


WORKLIST_QUERIES = {
    "bigint": {"page": "99999999999999999999999"},
    "5000-digits": {"page": "9" * 5000},
    "superscript": {"page": "\u00b2"},
    "arabic-indic": {"page": "\u0666"},
    "negative": {"page": "-1"},
    "zero": {"page": "0"},
    "tiers": {"tier": ["\u00b2", "\u0665", "4", "9" * 5000]},
    "surrogate": "sort=%ED%A0%80&page=%ED%A0%80",  # a lone surrogate, UTF-8 encoded
}


@pytest.mark.parametrize("case", list(WORKLIST_QUERIES))
def test_worklist_queries_never_fail(coordinator_client, department, case):
    url = reverse("worklist", args=[department.department_code, "30_day"])
    query = WORKLIST_QUERIES[case]
    if isinstance(query, str):
        url, query = f"{url}?{query}", None
    response = coordinator_client.get(url, query)
    assert response.status_code == 200
    assert response.context["page"] >= 1


def test_intervention_planning_takes_only_its_tiers(client):
    client.force_login(user_with_role("ana", Role.ANALYST))
    for requested in ["\u00b2", "\u0665", "9" * 5000, "4"]:
        response = client.get(reverse("report-interventions"), {"min_tier": requested})
        assert response.status_code == 200
        assert response.context["min_tier"] == (4 if requested == "4" else 5)


@pytest.mark.django_db(transaction=True)
def test_six_concurrent_submissions_of_one_new_external_id_make_one_patient(
    reference_data, active_version
):
    token = api_client_create(name="ehr")[1]
    body = json.dumps(_payload(external_id="RACE-1"))
    start = threading.Barrier(6)
    answers: list[int] = []
    failures: list[BaseException] = []

    def submit() -> None:
        try:
            client = Client(raise_request_exception=False)
            start.wait(timeout=30)
            answers.append(_post(client, PATIENTS, body, token).status_code)
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)
        finally:
            connection.close()  # each thread's own connection

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures
    assert len(answers) == 6
    assert answers.count(201) >= 1
    assert set(answers) <= {200, 201, 409}, answers
    assert Patient.objects.filter(external_id="RACE-1").count() == 1


@pytest.mark.parametrize("object_id", ["%C2%B2", "a" * 3000, "%ED%A0%80"])
@pytest.mark.parametrize(
    "model", ["patients/department", "predictions/modelversion", "finance/interventionpolicy"]
)
def test_history_pages_of_an_id_that_is_not_one_are_404(admin_client, model, object_id):
    admin_client.raise_request_exception = False
    assert admin_client.get(f"/admin/{model}/{object_id}/history/").status_code == 404
    assert admin_client.get(f"/admin/{model}/{object_id}/history/x/").status_code == 404
