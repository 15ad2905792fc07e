"""Both importers read through one reader (patients/csv_reader.py): a file that cannot be read
is reported by line and column, never by byte offset or traceback, imports nothing, and rows
are numbered by the physical line they start on."""

import csv

import pytest
from django.core.management import CommandError, call_command

from patients.admissions import admissions_import
from patients.csv_reader import FileUnreadable, RowsRejected
from patients.import_schema import COLUMN_NAMES
from patients.importer import patients_import
from patients.models import Admission, Patient
from tests.factories import PatientFactory
from tests.patients.csv_files import row

pytestmark = pytest.mark.django_db

BAD = "\uffff"  # replaced by the bytes under test; never in a real cell
ADMISSION_COLUMNS = ["external_id", "admission_date", "discharge_date", "stay_cost"]


def _line(columns, values: dict) -> str:
    return ",".join('"' + values[c].replace('"', '""') + '"' if "\n" in values[c] else values[c]
                    for c in columns)  # fmt: skip


def _patients_file(path, second: dict, bad: bytes = b"") -> tuple:
    lines = [
        ",".join(COLUMN_NAMES),
        _line(COLUMN_NAMES, row(1)),
        _line(COLUMN_NAMES, row(2, **second)),
    ]
    data = ("\n".join(lines) + "\n").encode().replace(BAD.encode(), bad)
    path.write_bytes(data)
    return path, lambda: patients_import(path=path, source="IMPORTED", changed_by="test")


def _admissions_file(path, second: dict, bad: bytes = b"") -> tuple:
    PatientFactory(external_id="P-0001")
    first = {"external_id": "P-0001", "admission_date": "2024-03-05", "discharge_date": "",
             "stay_cost": "100.00"}  # fmt: skip
    values = {**first, "admission_date": "2024-04-01", **second}
    lines = [",".join(ADMISSION_COLUMNS), _line(ADMISSION_COLUMNS, first),
             _line(ADMISSION_COLUMNS, values)]  # fmt: skip
    path.write_bytes(("\n".join(lines) + "\n").encode().replace(BAD.encode(), bad))
    return path, lambda: admissions_import(path=path, changed_by="test")


IMPORTERS = {"patients": _patients_file, "admissions": _admissions_file}


def _written() -> tuple[int, int]:
    return Patient.objects.count(), Admission.objects.count()


@pytest.fixture(params=sorted(IMPORTERS))
def importer(request):
    return IMPORTERS[request.param]


@pytest.mark.parametrize(
    ("value", "bad", "position", "reason"),
    [
        (f"Caf{BAD}", b"\xe9", 4, "not UTF-8 (byte 0xE9)"),  # Latin-1
        (f"P-{BAD}", b"\xed\xa0\x80", 3, "not UTF-8 (byte 0xED)"),  # an encoded surrogate
        (f"P{BAD}1", b"\x00", 2, "contains a NUL byte"),
    ],
    ids=["latin-1", "surrogate", "nul"],
)
def test_unreadable_bytes_are_named_by_line_column_and_field(
    importer, tmp_path, value, bad, position, reason
):
    _, run = importer(tmp_path / "f.csv", {"external_id": value}, bad)
    before = _written()
    with pytest.raises(FileUnreadable) as refused:
        run()
    (error,) = refused.value.errors
    assert (error.row, error.column, error.position, error.reason) == (
        3, "external_id", position, reason,
    )  # fmt: skip
    assert str(refused.value.errors[0]) == f"line 3, column {position} (external_id): {reason}"
    assert _written() == before  # the good line 2 is not written either


@pytest.mark.parametrize(("name", "field"), [("patients", "annual_cost"),
                                             ("admissions", "stay_cost")])  # fmt: skip
def test_a_field_over_the_csv_limit_is_named_where_it_starts(name, field, tmp_path):
    path, run = IMPORTERS[name](tmp_path / "f.csv", {field: "x" * 200_000})
    with pytest.raises(FileUnreadable) as refused:
        run()
    (error,) = refused.value.errors
    line = path.read_text().splitlines()[2]
    assert (error.row, error.column, error.position, error.reason) == (
        3, field, line.index("x") + 1, f"is longer than {csv.field_size_limit()} characters",
    )  # fmt: skip


def test_rows_after_a_quoted_newline_are_numbered_by_physical_line(importer, tmp_path):
    # Line 3 starts a record that spans lines 3 and 4; the next record starts on line 5.
    path, run = importer(tmp_path / "f.csv", {"external_id": "P-9\nX"})
    with path.open("a") as handle:
        handle.write(path.read_text().splitlines()[1].replace("P-0001", "P-0003") + ",extra\n")
    with pytest.raises(RowsRejected) as refused:
        run()
    rows = {(e.row, e.column) for e in refused.value.errors}
    assert (3, "external_id") in rows  # the newline in an identifier
    assert (5, "(row)") in rows  # the ragged record after it: line 5, not record 4


@pytest.mark.parametrize("command", ["import_patients", "import_admissions"])
def test_the_commands_print_the_line_and_column_not_a_traceback(command, tmp_path, capsys):
    maker = _patients_file if command == "import_patients" else _admissions_file
    path, _ = maker(tmp_path / "f.csv", {"external_id": f"Caf{BAD}"}, b"\xe9")
    arguments = ["--source", "IMPORTED"] if command == "import_patients" else []
    with pytest.raises(CommandError) as failed:
        call_command(command, str(path), *arguments)
    expected = "line 3, column 4 (external_id): not UTF-8 (byte 0xE9)"
    assert str(failed.value) == f"f.csv rejected: {expected}; nothing was written."
    assert expected in capsys.readouterr().err
