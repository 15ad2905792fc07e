import csv
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patients.import_schema import COLUMN_NAMES
from patients.importer import PatientFileRejected, RowError, patients_import
from patients.models import Patient, PatientFeatures
from riskplatform.core.models import AuditEvent, AuditLog
from tests.patients.csv_files import row, write_csv

pytestmark = pytest.mark.django_db


def _import(path, **kwargs):
    return patients_import(path=path, source="X_TEST", changed_by="test", **kwargs)


def _snapshot() -> tuple:
    return (
        Patient.objects.count(),
        PatientFeatures.objects.count(),
        Patient.history.count(),
        PatientFeatures.history.count(),
        AuditLog.objects.count(),
    )


@pytest.fixture
def good_file(tmp_path):
    return write_csv(
        tmp_path / "X_test.csv",
        [
            row(1),
            row(2, has_cancer="2", has_chf="2"),
            row(3, department_code="pulmo", age="50", is_elderly="0"),
        ],
    )


@pytest.fixture
def bad_file(tmp_path):
    return write_csv(
        tmp_path / "bad.csv",
        [
            row(1),
            row(2, age="130"),
            row(3, has_chf="3", gender="Q"),
            row(4, annual_cost="12,000", department_code="XRAY"),
            row(1),
            row(6, is_elderly="0"),
            row(7, cost_percentile="", frailty_score="-0.5"),
            row(8),
        ],
    )


def test_valid_file_creates_patients_features_history_and_audit(good_file):
    result = _import(good_file)
    assert (result.rows, result.created, result.updated, result.unchanged) == (3, 3, 0, 0)
    departments = dict(Patient.objects.values_list("external_id", "department__department_code"))
    assert departments == {"P-0001": "GENMED", "P-0002": "ONCOLOGY", "P-0003": "PULMO"}
    patient = Patient.objects.get(external_id="P-0002")
    assert (patient.data_source, patient.created_by, patient.annual_cost) == (
        "X_TEST",
        "test",
        Decimal("12000.00"),
    )
    assert patient.features.has_cancer == 2 and patient.features.feature_version == 1
    assert patient.history.get().history_type == "+"
    assert patient.features.history.get().history_change_reason == "import of X_test.csv by test"
    event = AuditLog.objects.get(event_type=AuditEvent.IMPORT_RUN)
    assert event.new_values["created"] == 3 and len(event.new_values["sha256"]) == 64


def test_bad_rows_reject_the_whole_file_and_every_error_is_named(bad_file):
    before = _snapshot()
    with pytest.raises(PatientFileRejected) as rejected:
        _import(bad_file)
    assert rejected.value.errors == [
        RowError(2, "external_id", "P-0001", "appears more than once in the file (rows 2, 6)"),
        RowError(3, "age", "130", "must be between 0 and 120"),
        RowError(4, "gender", "Q", "must be one of M, F, Other"),
        RowError(4, "has_chf", "3", "must be one of 0, 1, 2"),
        RowError(5, "annual_cost", "12,000", "is not a number"),
        RowError(5, "department_code", "XRAY", "is not a known department code"),
        RowError(6, "external_id", "P-0001", "appears more than once in the file (rows 2, 6)"),
        RowError(7, "is_elderly", "0", "must be 1 exactly when age is 65 or over (age is 72)"),
        RowError(8, "cost_percentile", "", "is required"),
        RowError(8, "frailty_score", "-0.5", "must be between 0 and 9999.9999"),
    ]
    assert str(rejected.value) == "10 error(s) in 7 of 8 row(s); nothing was written."
    assert _snapshot() == before


def test_skip_invalid_loads_good_rows_and_writes_rejects(bad_file, tmp_path):
    result = _import(bad_file, skip_invalid=True, rejects_path=tmp_path / "rejects.csv")
    # Both copies of a duplicated external_id are rejected: neither can be trusted.
    assert (result.rows, result.created, result.rejected) == (8, 1, 7)
    assert list(Patient.objects.values_list("external_id", flat=True)) == ["P-0008"]
    with (tmp_path / "rejects.csv").open() as handle:
        rejects = list(csv.DictReader(handle))
    assert [r["row"] for r in rejects] == ["2", "3", "4", "5", "6", "7", "8"]
    assert rejects[1]["age"] == "130"
    assert rejects[2]["errors"] == (
        "gender: must be one of M, F, Other (value 'Q'); has_chf: must be one of 0, 1, 2 "
        "(value '3')"
    )
    assert list(rejects[0]) == ["row", *COLUMN_NAMES, "errors"]


def test_reimporting_the_same_file_changes_nothing(good_file):
    _import(good_file)
    before = _snapshot()
    result = _import(good_file)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    after = _snapshot()
    assert after[:4] == before[:4]
    assert after[4] == before[4] + 1  # the IMPORT_RUN event of the second run


def test_a_changed_row_updates_that_patients_features_with_history(good_file, tmp_path):
    _import(good_file)
    changed = write_csv(
        tmp_path / "changed.csv",
        [
            row(1),
            row(2, has_cancer="2", has_chf="2", has_copd="2"),
            row(3, age="50", is_elderly="0"),
        ],
    )
    result = _import(changed)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    features = Patient.objects.get(external_id="P-0002").features
    assert features.has_copd == 2 and features.updated_at is not None
    latest = features.history.latest()
    assert (latest.history_type, latest.prev_record.has_copd) == ("~", 1)
    # A patient moved by hand keeps its department when the file does not name one.
    assert Patient.objects.get(external_id="P-0003").department.department_code == "PULMO"


def test_missing_required_columns_are_reported_on_the_header_row(tmp_path):
    columns = [c for c in COLUMN_NAMES if c not in ("age", "has_stroke")]
    path = write_csv(tmp_path / "short.csv", [row(1)], columns=columns)
    with pytest.raises(PatientFileRejected) as rejected:
        _import(path)
    assert rejected.value.errors == [
        RowError(1, "age", "", "required column is missing"),
        RowError(1, "has_stroke", "", "required column is missing"),
    ]


def test_a_row_with_the_wrong_number_of_fields_is_named(tmp_path):
    path = write_csv(tmp_path / "ragged.csv", [row(1)])
    with path.open("a") as handle:
        handle.write("P-0002,72,F\n")
    with pytest.raises(PatientFileRejected) as rejected:
        _import(path)
    assert rejected.value.errors == [
        RowError(3, "(row)", "P-0002,72,F", f"has 3 fields, expected {len(COLUMN_NAMES)}")
    ]


def test_queries_do_not_grow_with_the_number_of_rows(tmp_path):
    def count(n: int) -> int:
        path = write_csv(tmp_path / f"f{n}.csv", [row(i + n * 1000) for i in range(n)])
        with CaptureQueriesContext(connection) as queries:
            assert _import(path).created == n
        return len(queries)

    assert count(5) == count(300)


def test_command_prints_each_error_and_fails(bad_file, capsys):
    with pytest.raises(CommandError, match=r"bad\.csv rejected: 10 error"):
        call_command("import_patients", str(bad_file), "--source", "X_TEST")
    assert "row 3, column age, value '130': must be between 0 and 120" in capsys.readouterr().err
    assert Patient.objects.count() == 0
