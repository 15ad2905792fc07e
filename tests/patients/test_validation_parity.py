"""One validation for every way in: each input the red team found the API accepting and the
importer refusing is now refused by both, naming the field and the reason, and nothing is
written (issue 12)."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from patients.csv_reader import RowsRejected
from patients.import_schema import COLUMN_NAMES
from patients.importer import patients_import
from patients.models import Patient, PatientFeatures
from riskplatform.core.api_auth import api_client_create
from tests.patients.csv_files import row

pytestmark = pytest.mark.django_db

UNPRINTABLE = "a control, format or bidi character"

# (field, value sent as JSON, the same value as a CSV cell, the API's reason, the importer's)
CASES = [
    ("age", "٦٥", "٦٥", "is not a whole number", "is not a whole number"),
    ("age", "6_5", "6_5", "is not a whole number", "is not a whole number"),
    ("annual_cost", "1e5", "1e5", "is not a number", "is not a number"),
    ("has_chf", True, "true", "must be one of 0, 1, 2", "must be one of 0, 1, 2"),
    ("external_id", "P-1\nX", "P-1\nX", f"contains U+000A, {UNPRINTABLE}", None),
    ("external_id", "P-\u202e1", "P-\u202e1", f"contains U+202E, {UNPRINTABLE}", None),
    ("external_id", "P-\u2028", "P-\u2028", f"contains U+2028, {UNPRINTABLE}", None),
    # A file cannot carry a NUL or a lone surrogate as text: its reader refuses the bytes.
    ("external_id", "P-\x001", "P-\x001", f"contains U+0000, {UNPRINTABLE}", "contains a NUL byte"),
    ("external_id", "P-\ud800", "P-\ud800", f"contains U+D800, {UNPRINTABLE}",
     "not UTF-8 (byte 0xED)"),
]  # fmt: skip
# The importer's reason is the API's unless the case says otherwise.
CASES = [(f, j, c, api, imp or api) for f, j, c, api, imp in CASES]
UNKNOWN = ["patient_id", "data_source", "is_active"]


@pytest.fixture
def token():
    return api_client_create(name="ehr")[1]


def _counts() -> tuple[int, int]:
    return Patient.objects.count(), PatientFeatures.objects.count()


def _api(client, token, body: dict):
    return client.post(
        reverse("api-patients-create"),
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def _csv(path, values: dict, extra: dict | None = None):
    columns = [*COLUMN_NAMES, *(extra or {})]
    cells = {**row(1, **values), **(extra or {})}
    # Written by hand: the csv module would refuse a lone surrogate, which a file can
    # still carry as (non-UTF-8) bytes.
    line = ",".join('"' + str(cells[c]).replace('"', '""') + '"' for c in columns)
    data = (",".join(columns) + "\n" + line + "\n").encode("utf-8", "surrogatepass")
    path.write_bytes(data)
    return path


def _import_refusal(path) -> list:
    with pytest.raises(RowsRejected) as rejected:
        patients_import(path=path, source="IMPORTED", changed_by="test")
    return rejected.value.errors


@pytest.mark.parametrize(("field", "sent", "cell", "api_reason", "import_reason"), CASES)
def test_the_api_and_the_importer_refuse_the_same_values(
    client, token, tmp_path, field, sent, cell, api_reason, import_reason
):
    before = _counts()
    body = {k: v for k, v in row(1).items() if v != ""} | {field: sent}
    response = _api(client, token, body)
    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["errors"][field] == [api_reason]
    detail = next(d for d in answer["fields"] if d["field"] == field)
    assert detail["reason"] == api_reason
    assert detail["value"] == ("true" if sent is True else sent)

    errors = _import_refusal(_csv(tmp_path / "patients.csv", {field: cell}))
    assert [(e.column, e.reason) for e in errors] == [(field, import_reason)]
    assert errors[0].row == 2
    assert _counts() == before


@pytest.mark.parametrize("field", UNKNOWN)
def test_fields_no_client_sets_are_refused_by_name(client, token, tmp_path, field):
    before = _counts()
    response = _api(client, token, {**row(1), field: "1"})
    assert response.status_code == 400
    reason = "is not a known field (the platform sets it, not a client)"
    assert response.json()["errors"] == {field: [reason]}
    assert response.json()["fields"] == [{"field": field, "value": "1", "reason": reason}]

    errors = _import_refusal(_csv(tmp_path / "patients.csv", {}, extra={field: "1"}))
    assert [(e.row, e.column) for e in errors] == [(1, field)]
    assert errors[0].reason.startswith("is not a known field")
    assert _counts() == before


def test_an_unknown_field_is_refused_by_the_api_and_its_value_quoted_short(client, token):
    pad = "x" * 2_400_000
    response = _api(client, token, {**row(1), "pad": pad})
    assert response.status_code == 400
    assert response.json()["fields"] == [
        {"field": "pad", "value": "x" * 80, "reason": "is not a known field"}
    ]
    assert _counts() == (0, 0)


def test_a_file_may_carry_columns_of_its_own_which_are_ignored_and_named(tmp_path):
    result = patients_import(
        path=_csv(tmp_path / "patients.csv", {}, extra={"pad": "x"}),
        source="IMPORTED",
        changed_by="test",
    )
    assert (result.created, result.ignored_columns) == (1, ["pad"])


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        ("5" + "0" * 4999, "must be between 0 and 120"),  # more digits than int() converts
        ("65.0", "is not a whole number"),
        ("null", "is required"),
    ],
    ids=["5000 digits", "65.0", "null"],
)
def test_json_numbers_are_checked_as_sent(client, token, sent, reason):
    body = json.dumps({**row(1), "age": "AGE"}).replace('"AGE"', sent)  # JSON as sent
    response = client.post(
        reverse("api-patients-create"), data=body, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["errors"]["age"] == [reason]


def test_a_json_exponent_is_refused_too(client, token):
    body = json.dumps({**row(1), "annual_cost": "COST"}).replace('"COST"', "1e5")
    response = client.post(
        reverse("api-patients-create"), data=body, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert response.json()["errors"]["annual_cost"] == ["is not a number"]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("age", "٦٥", "is not a whole number"),
        ("age", "6_5", "is not a whole number"),
        ("annual_cost", "1e5", "is not a number"),
        ("external_id", "P-\u202e1", f"contains U+202E, {UNPRINTABLE}"),
        ("external_id", "P-1\nX", f"contains U+000A, {UNPRINTABLE}"),
        ("primary_provider_id", "\u0667", "is not a whole number"),
    ],
)
def test_the_admin_patient_form_refuses_them_too(admin_client, department, field, value, reason):
    data = {
        "age": "70", "gender": "F", "race": "White", "department": department.pk,
        "data_source": "NEW_PATIENT", "is_active": "on", field: value,
        "features-TOTAL_FORMS": 0, "features-INITIAL_FORMS": 0,
        "features-MIN_NUM_FORMS": 0, "features-MAX_NUM_FORMS": 1,
    }  # fmt: skip
    response = admin_client.post(reverse("admin:patients_patient_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [reason]
    assert not Patient.objects.exists()


def test_the_admin_features_inline_refuses_a_code_out_of_its_list(admin_client, department):
    from tests.factories import PatientFactory, PatientFeaturesFactory

    patient = PatientFeaturesFactory(patient=PatientFactory(department=department)).patient
    url = reverse("admin:patients_patient_change", args=[str(patient.patient_uuid)])
    form = admin_client.get(url).context["inline_admin_formsets"][0].formset.forms[0]
    assert form.fields["has_chf"].widget.choices == [
        ("", "---------"), ("0", "0"), ("1", "1"), ("2", "2"),
    ]  # fmt: skip
    field = form.fields["has_chf"]
    assert not field.has_changed(1, "1") and field.clean("2") == 2
    for value in ("true", "٢", "3"):
        with pytest.raises(ValidationError) as refused:
            field.clean(value)
        assert refused.value.messages == ["must be one of 0, 1, 2"]


@pytest.mark.parametrize("value", ["P-\ud800", "P\x001", "P-\u202e1", "CAR\nDIO"])
def test_codes_and_identifiers_that_cannot_be_stored_are_refused_not_a_server_error(
    client, token, value
):
    for field in ("external_id", "department_code"):
        response = _api(client, token, {**row(1), field: value})
        assert response.status_code == 400
        (reason,) = response.json()["errors"][field]
        assert reason.endswith(UNPRINTABLE)
    response = client.post(
        reverse("api-admissions-create"),
        data=json.dumps({"external_id": value, "admission_date": "2024-03-05",
                         "stay_cost": "10.00"}),
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert response.status_code == 400
    (error,) = response.json()["errors"]["rows"]
    assert (error["field"], error["reason"].endswith(UNPRINTABLE)) == ("external_id", True)
    assert _counts() == (0, 0)


@pytest.mark.parametrize(("field", "value", "places"),
                         [("annual_cost", "12000.005", 2), ("cost_percentile", "0.5000", 3),
                          ("frailty_score", "0.12345", 4)])  # fmt: skip
def test_more_decimal_places_than_stored_are_refused_not_rounded(
    client, token, tmp_path, field, value, places
):
    reason = f"has more than {places} decimal places"
    response = _api(client, token, {**row(1), field: value})
    assert response.json()["errors"][field] == [reason]
    errors = _import_refusal(_csv(tmp_path / "patients.csv", {field: value}))
    assert [(e.column, e.reason) for e in errors] == [(field, reason)]
    assert _counts() == (0, 0)
