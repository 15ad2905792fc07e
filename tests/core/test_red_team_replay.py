"""The red-team inputs of issue 12, replayed: each is refused (a 4xx, never a 500, JSON on the
API) or neutralised, and writes nothing.

Covered elsewhere, with the mechanism they test: six concurrent POSTs of one new external_id
(tests/core/test_request_limits.py), 40 guesses over 10 addresses (tests/core/test_security.py),
the API/importer parity cases and identifier characters (the field-validation work)."""

import csv
import io
import json

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from patients.identifiers import unprintable_reason
from patients.models import Admission, Department, Patient
from riskplatform.core.api_auth import api_client_create
from riskplatform.core.roles import Role
from tests.core.test_csv_safe import PAYLOADS as FORMULAS
from tests.core.test_csv_safe import flagged_cardio_patient
from tests.core.test_security import WEAK_PASSWORDS
from tests.factories import user_with_role
from tests.patients.csv_files import row

pytestmark = pytest.mark.django_db
PATIENTS = reverse("api-patients-create")
ADMISSIONS = reverse("api-admissions-create")


def _counts() -> tuple[int, ...]:
    return (Patient.objects.count(), Admission.objects.count(), Department.objects.count(),
            User.objects.count())  # fmt: skip


def _patient(**values) -> dict:
    return {k: v for k, v in row(9001, **values).items() if v != ""}


def _nested(depth: int) -> str:
    return '{"external_id": "P-1", "x": ' + "[" * depth + "]" * depth + "}"


# (method, path, body): the API's server errors of the report.
API_INPUTS = {
    "10-mb-body": ("post", PATIENTS, json.dumps({**_patient(), "pad": "x" * 10_000_000})),
    "10-mb-admissions": ("post", ADMISSIONS, '{"admissions": [' + "1," * 5_000_000 + "1]}"),
    "nested-json": ("post", PATIENTS, _nested(100_000)),
    "nested-admissions": ("post", ADMISSIONS, _nested(100_000)),
    "lone-surrogate-external-id": (
        "post", PATIENTS, json.dumps(_patient()).replace('"P-9001"', '"\\ud800"'),
    ),
    "lone-surrogate-admission": (
        "post", ADMISSIONS, '{"external_id": "\\udfff", "admission_date": "2024-03-05"}',
    ),
    "5000-digit-age": ("post", PATIENTS, json.dumps(_patient()).replace('"72"', "7" * 5000)),
    "5000-digit-cost": (
        "post", ADMISSIONS,
        '{"external_id": "P-1", "admission_date": "2024-03-05", "stay_cost": ' + "9" * 5000 + "}",
    ),
    "nan-cost": ("post", ADMISSIONS, '{"external_id": "P-1", "stay_cost": NaN}'),
    "nul-in-json": ("post", PATIENTS, json.dumps(_patient(external_id="P\x00X"))),
    "nul-in-path": ("post", "/api/patients/%00/", "{}"),
    "nul-in-query": ("post", "/api/patients/?x=%00", "{}"),
    "get-on-the-api": ("get", PATIENTS, None),
    "not-json": ("post", PATIENTS, b"\xff\xfe{"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(API_INPUTS))
def test_the_api_refuses_in_json_and_writes_nothing(case):
    token = api_client_create(name="red-team")[1]
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {token}")
    method, path, body = API_INPUTS[case]
    before = _counts()
    if method == "get":
        response = client.get(path)
    else:
        response = client.post(path, data=body, content_type="application/json")
    assert 400 <= response.status_code < 500, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json()["errors"]
    assert _counts() == before


PAGE_INPUTS = {
    "page-past-bigint": "/worklists/{dept}/30_day/?page=99999999999999999999999",
    "page-of-5000-digits": "/worklists/{dept}/30_day/?page=" + "9" * 5000,
    "page-superscript": "/worklists/{dept}/30_day/?page=%C2%B2",
    "tier-superscript": "/worklists/{dept}/30_day/?tier=%C2%B2",
    "min-tier-superscript": "/reports/interventions/?min_tier=%C2%B2",
    "nul-in-model-version": "/models/%00/",
    "nul-in-worklist-query": "/worklists/{dept}/30_day/?sort=%00",
    "nul-in-admin-search": "/admin/patients/patient/?q=%00",
    "admin-history-not-an-id": "/admin/patients/department/%C2%B2/history/",
    "admin-page-past-bigint": "/admin/patients/patient/?p=99999999999999999999999",
}


@pytest.mark.parametrize("case", list(PAGE_INPUTS))
def test_pages_answer_crafted_addresses_without_a_server_error(case, department):
    client = Client(raise_request_exception=False)
    user = user_with_role("red", Role.PLATFORM_ADMIN)
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    before = _counts()
    response = client.get(PAGE_INPUTS[case].format(dept=department.department_code))
    assert response.status_code < 500
    assert _counts() == before


@pytest.mark.parametrize("formula", FORMULAS, ids=repr)
def test_a_formula_external_id_comes_back_neutralised_in_the_export(client, formula,
                                                                   active_version):  # fmt: skip
    if unprintable_reason(formula) is not None:
        # A leading tab or carriage return cannot even be stored (CHECK
        # patients_external_id_printable), so it cannot come back stripped into a formula.
        with pytest.raises(IntegrityError), transaction.atomic():
            flagged_cardio_patient(external_id=formula, version=active_version)
        return
    flagged_cardio_patient(external_id=formula, version=active_version)
    client.force_login(user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)))
    response = client.get(reverse("worklist-export", args=["CARDIO", "30_day"]))
    [exported] = list(csv.DictReader(io.StringIO(response.content.decode(), newline="")))
    assert exported["external_id"] == "'" + formula


@pytest.mark.parametrize("code", ["A/B", 'Q"X;', "cardio", "ab"])
def test_the_admin_refuses_a_department_code_that_would_break_pages(admin_client, code):
    before = _counts()
    response = admin_client.post(
        reverse("admin:patients_department_add"),
        {"department_name": "Red team", "department_code": code},
    )
    assert response.status_code == 200
    assert "department_code" in response.context["adminform"].form.errors
    assert _counts() == before


@pytest.mark.parametrize("password", WEAK_PASSWORDS)
def test_the_admin_refuses_a_weak_password_for_a_new_user(admin_client, password):
    before = _counts()
    username = "carol-the-user" if password == "carol-the-user" else "pw_user"
    response = admin_client.post(
        reverse("admin:auth_user_add"),
        {"username": username, "usable_password": "true",
         "password1": password, "password2": password},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["password2"]
    assert _counts() == before
