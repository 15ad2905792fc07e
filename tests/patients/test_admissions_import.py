"""Admissions from a CSV file or from rows: every error named, all or nothing, idempotent,
set-based, with history and one audit row."""

import csv
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from patients.admissions import AdmissionsRejected, admissions_import, admissions_record
from patients.importer import RowError
from patients.models import Admission, AdmissionSource
from riskplatform.core.models import AuditEvent, AuditLog
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

COLUMNS = ["external_id", "patient_uuid", "admission_date", "discharge_date", "stay_cost"]
DAY = date(2024, 3, 5)


def write_admissions(path, rows: list[dict], columns=COLUMNS):
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def adm(external_id="", admission_date=DAY, discharge="", cost="11000.00", **values) -> dict:
    return {
        "external_id": external_id,
        "admission_date": str(admission_date),
        "discharge_date": str(discharge),
        "stay_cost": cost,
        **values,
    }


def _snapshot() -> tuple[int, int, int]:
    return Admission.objects.count(), Admission.history.count(), AuditLog.objects.count()


@pytest.fixture
def patients():
    return [PatientFactory(external_id=f"A-{i}") for i in range(1, 4)]


@pytest.fixture
def good_file(tmp_path, patients):
    return write_admissions(
        tmp_path / "admissions.csv",
        [
            adm("A-1", discharge="2024-03-09", cost="12500.50"),
            adm(patient_uuid=str(patients[1].patient_uuid), admission_date="2024-01-31"),
            adm("A-1", admission_date="2024-04-01"),
        ],
    )


def test_a_valid_file_records_admissions_with_history_and_audit(good_file, patients):
    result = admissions_import(path=good_file, changed_by="test")
    assert (result.rows, result.created, result.updated, result.unchanged) == (3, 3, 0, 0)
    first = Admission.objects.get(patient=patients[0], admission_date=DAY)
    assert (first.discharge_date, first.stay_cost, first.source, first.created_by) == (
        date(2024, 3, 9),
        Decimal("12500.50"),
        AdmissionSource.IMPORTED,
        "test",
    )
    # By patient_uuid as well as by external_id.
    by_uuid = Admission.objects.get(patient=patients[1])
    assert (by_uuid.admission_date, by_uuid.discharge_date) == (date(2024, 1, 31), None)
    assert [(a.row, a.patient_uuid, a.outcome) for a in result.admissions] == [
        (2, patients[0].patient_uuid, "created"),
        (3, patients[1].patient_uuid, "created"),
        (4, patients[0].patient_uuid, "created"),
    ]
    history = first.history.get()
    assert (history.history_type, history.history_change_reason) == (
        "+",
        "import of admissions.csv by test",
    )
    event = AuditLog.objects.get(event_type=AuditEvent.ADMISSIONS_IMPORTED)
    assert (event.changed_by, event.entity_type) == ("test", "FILE")
    assert {k: event.new_values[k] for k in ("rows", "created", "updated", "unchanged")} == {
        "rows": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
    }
    assert event.new_values["file"] == "admissions.csv" and len(event.new_values["sha256"]) == 64


def test_one_bad_row_among_good_ones_writes_nothing(tmp_path, patients):
    path = write_admissions(
        tmp_path / "bad.csv",
        [adm("A-1"), adm("A-2"), adm("A-3", cost="-5.00"), adm("A-1", admission_date="2024-05-01")],
    )
    before = _snapshot()
    with pytest.raises(AdmissionsRejected) as rejected:
        admissions_import(path=path, changed_by="test")
    assert rejected.value.errors == [
        RowError(4, "stay_cost", "-5.00", "must be between 0 and 99999999.99")
    ]
    assert str(rejected.value) == "1 error(s) in 1 of 4 row(s); nothing was written."
    assert str(rejected.value.errors[0]) == (
        "row 4, column stay_cost, value '-5.00': must be between 0 and 99999999.99"
    )
    assert _snapshot() == before


def test_every_error_of_every_row_is_collected(tmp_path, patients):
    today = timezone.localdate()
    tomorrow = today + timedelta(days=1)
    path = write_admissions(
        tmp_path / "bad.csv",
        [
            adm("NOBODY"),
            adm("A-1", admission_date=tomorrow),
            adm("A-1", admission_date="1999-12-31"),
            adm("A-2", discharge="2024-03-04"),
            adm("A-3", cost="-0.01"),
            adm("A-1", patient_uuid=str(patients[0].patient_uuid)),
            adm(),
            adm("A-2", admission_date="05/03/2024", cost="12,5"),
            adm("A-3", admission_date="2024-02-30", cost="10.005"),
            adm(patient_uuid="not-a-uuid", cost=""),
            adm(patient_uuid="6f1c2a4e-0000-4000-8000-000000000000"),
        ],
    )
    with pytest.raises(AdmissionsRejected) as rejected:
        admissions_import(path=path, changed_by="test")
    uuid = str(patients[0].patient_uuid)
    assert rejected.value.errors == [
        RowError(2, "external_id", "NOBODY", "no patient has this external_id"),
        RowError(3, "admission_date", str(tomorrow), f"is in the future (today is {today})"),
        RowError(4, "admission_date", "1999-12-31", "is before 2000-01-01"),
        RowError(5, "discharge_date", "2024-03-04", "is before the admission_date 2024-03-05"),
        RowError(6, "stay_cost", "-0.01", "must be between 0 and 99999999.99"),
        RowError(7, "patient_uuid", uuid, "give external_id or patient_uuid, not both"),
        RowError(8, "external_id", "", "is required (or patient_uuid)"),
        RowError(9, "admission_date", "05/03/2024", "is not a date (YYYY-MM-DD)"),
        RowError(9, "stay_cost", "12,5", "is not a number"),
        RowError(10, "admission_date", "2024-02-30", "is not a date (YYYY-MM-DD)"),
        RowError(10, "stay_cost", "10.005", "has more than 2 decimal places"),
        RowError(11, "patient_uuid", "not-a-uuid", "is not a UUID"),
        RowError(11, "stay_cost", "", "is required"),
        RowError(
            12,
            "patient_uuid",
            "6f1c2a4e-0000-4000-8000-000000000000",
            "no patient has this patient_uuid",
        ),
    ]
    assert Admission.objects.count() == 0


def test_the_same_patient_and_day_twice_in_one_file_is_an_error(tmp_path, patients):
    uuid = str(patients[0].patient_uuid)
    path = write_admissions(
        tmp_path / "twice.csv",
        [adm("A-1"), adm("A-2"), adm(patient_uuid=uuid, cost="9000.00")],
    )
    with pytest.raises(AdmissionsRejected) as rejected:
        admissions_import(path=path, changed_by="test")
    reason = "appears more than once for this patient (rows 2, 4)"
    assert rejected.value.errors == [
        RowError(2, "admission_date", "2024-03-05", reason),
        RowError(4, "admission_date", "2024-03-05", reason),
    ]
    assert Admission.objects.count() == 0


def test_reimporting_the_same_file_changes_nothing(good_file):
    admissions_import(path=good_file, changed_by="test")
    before = _snapshot()
    result = admissions_import(path=good_file, changed_by="test")
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert {a.outcome for a in result.admissions} == {"unchanged"}
    rows, history, audit = _snapshot()
    assert (rows, history) == before[:2]  # no row and no history row more
    assert audit == before[2] + 1  # the second run's ADMISSIONS_IMPORTED event
    assert (
        AuditLog.objects.filter(event_type=AuditEvent.ADMISSIONS_IMPORTED)
        .latest("pk")
        .new_values["unchanged"]
        == 3
    )


def test_a_changed_cost_updates_that_admission_only(good_file, tmp_path, patients):
    admissions_import(path=good_file, changed_by="test")
    changed = write_admissions(
        tmp_path / "changed.csv",
        [
            adm("A-1", discharge="2024-03-09", cost="13000.00"),
            adm(patient_uuid=str(patients[1].patient_uuid), admission_date="2024-01-31"),
            adm("A-1", admission_date="2024-04-01"),
        ],
    )
    result = admissions_import(path=changed, changed_by="test")
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    admission = Admission.objects.get(patient=patients[0], admission_date=DAY)
    assert admission.stay_cost == Decimal("13000.00")
    latest = admission.history.latest()
    assert (latest.history_type, latest.prev_record.stay_cost) == ("~", Decimal("12500.50"))
    assert Admission.history.count() == 4
    # The stay's first source and author are kept.
    assert (admission.source, admission.created_by) == (AdmissionSource.IMPORTED, "test")


def test_rows_recorded_directly_name_their_errors(patients):
    with pytest.raises(AdmissionsRejected) as rejected:
        admissions_record(
            rows=[
                adm("A-1", cost=Decimal("100.10")),
                {"external_id": "A-2", "admission_date": DAY, "ward": "7B"},
            ],
            changed_by="api:ehr",
            source=AdmissionSource.API,
            row_numbers=[7, 8],
        )
    assert rejected.value.errors == [
        RowError(8, "stay_cost", "", "is required"),
        RowError(8, "ward", "7B", "is not a known field"),
    ]
    result = admissions_record(
        rows=[adm("A-1", cost=Decimal("100.10"))], changed_by="api:ehr", source="API"
    )
    assert (result.rows, result.created) == (1, 1)
    assert Admission.objects.get().source == AdmissionSource.API
    event = AuditLog.objects.get(event_type=AuditEvent.ADMISSIONS_IMPORTED)
    assert (event.entity_type, event.new_values["source"]) == ("ADMISSIONS", "API")


def test_an_unknown_source_is_refused(good_file):
    with pytest.raises(ValueError, match="source must be one of"):
        admissions_import(path=good_file, changed_by="test", source="FAX")


def test_missing_columns_are_named_on_the_header_row(tmp_path, patients):
    path = write_admissions(tmp_path / "short.csv", [adm("A-1")], columns=["admission_date"])
    with pytest.raises(AdmissionsRejected) as rejected:
        admissions_import(path=path, changed_by="test")
    assert rejected.value.errors == [
        RowError(1, "external_id", "", "required column is missing (or patient_uuid)"),
        RowError(1, "stay_cost", "", "required column is missing"),
    ]


def test_a_ragged_row_is_named_and_unknown_columns_are_ignored(tmp_path, patients):
    columns = ["external_id", "admission_date", "stay_cost", "ward"]
    path = write_admissions(tmp_path / "extra.csv", [adm("A-1", ward="7B")], columns=columns)
    result = admissions_import(path=path, changed_by="test")
    assert (result.created, result.ignored_columns) == (1, ["ward"])
    with path.open("a") as handle:
        handle.write("A-2,2024-03-05\n")
    with pytest.raises(AdmissionsRejected) as rejected:
        admissions_import(path=path, changed_by="test")
    assert rejected.value.errors == [
        RowError(3, "(row)", "A-2,2024-03-05", "has 2 fields, expected 4")
    ]


def test_a_200_row_import_does_not_query_per_row(tmp_path, django_assert_max_num_queries):
    for i in range(200):
        PatientFactory(external_id=f"B-{i}")

    def rows(n: int, cost: str) -> list[dict]:
        return [adm(f"B-{i}", cost=cost) for i in range(n)]

    path = write_admissions(tmp_path / "many.csv", rows(200, "11000.00"))
    # resolve + insert + two history statements + audit (+ savepoints)
    with django_assert_max_num_queries(10):
        assert admissions_import(path=path, changed_by="test").created == 200
    assert Admission.objects.count() == 200 and Admission.history.count() == 200

    def count(n: int) -> int:
        path = write_admissions(tmp_path / f"u{n}.csv", rows(n, f"{n}.00"))
        with CaptureQueriesContext(connection) as queries:
            assert admissions_import(path=path, changed_by="test").updated == n
        return len(queries)

    assert count(5) == count(200)


def test_postgresql_rejects_a_second_admission_on_the_same_day(patient, assert_db_rejects):
    Admission.objects.create(
        patient=patient, admission_date=DAY, stay_cost=Decimal(1), source="API", created_by="t"
    )
    assert_db_rejects(
        lambda: Admission.objects.create(
            patient=patient, admission_date=DAY, stay_cost=Decimal(2), source="API", created_by="t"
        ),
        "admissions_one_per_patient_day",
    )


def test_postgresql_rejects_a_discharge_before_the_admission(patient, assert_db_rejects):
    assert_db_rejects(
        lambda: Admission.objects.create(
            patient=patient,
            admission_date=DAY,
            discharge_date=DAY - timedelta(days=1),
            stay_cost=Decimal(1),
            source="API",
            created_by="t",
        ),
        "admissions_discharge_after_admission",
    )
    assert_db_rejects(
        lambda: Admission.objects.create(
            patient=patient, admission_date=DAY, stay_cost=Decimal(-1), source="API", created_by="t"
        ),
        "admissions_stay_cost_non_negative",
    )


def test_command_prints_counts(good_file, capsys):
    call_command("import_admissions", str(good_file))
    assert "admissions.csv: 3 rows: 3 created, 0 updated, 0 unchanged" in capsys.readouterr().out
    assert Admission.objects.get(admission_date="2024-01-31").created_by.startswith("cli:")


def test_command_prints_each_error_and_fails(tmp_path, patients, capsys):
    path = write_admissions(tmp_path / "bad.csv", [adm("A-1"), adm("A-9")])
    with pytest.raises(CommandError, match=r"bad\.csv rejected: 1 error\(s\) in 1 of 2"):
        call_command("import_admissions", str(path))
    err = capsys.readouterr().err
    assert "row 3, column external_id, value 'A-9': no patient has this external_id" in err
    assert Admission.objects.count() == 0
