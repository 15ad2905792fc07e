"""Record inpatient admissions (the outcomes predictions are judged against) from a CSV file
or from JSON rows, all or nothing.

Every row is checked (column rules of `patients.import_schema`, the same `RowError` as the
patient importer), patients are resolved by external_id or patient_uuid with one query per
chunk, and if any row is bad nothing is written. Good rows are written with one multi-row
INSERT … ON CONFLICT per chunk on the natural key (patient, admission_date): re-sending the
same rows changes nothing, a changed cost or discharge date updates that admission, with
history rows and one audit event in the same transaction. docs/outcomes.md.
"""

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from patients.csv_reader import CsvReader, RowError, RowsRejected
from patients.import_schema import (
    ADMISSION_COLUMN_NAMES,
    ADMISSION_COLUMNS,
    ADMISSION_REQUIRED_NAMES,
    UNKNOWN_FIELD,
    spec_text,
    value_reason,
)
from patients.models import Admission, AdmissionSource
from riskplatform.core.db import tables_analyze
from riskplatform.core.history import history_bulk_record
from riskplatform.core.models import AuditEvent
from riskplatform.core.services import audit_event_record

EARLIEST_ADMISSION = date(2000, 1, 1)
CHUNK_ROWS = 5000
# A large load gets fresh planner statistics (outcome evaluation joins this table).
ANALYZE_AFTER_ROWS = 10_000


@dataclass(frozen=True)
class RecordedAdmission:
    row: int
    patient_uuid: UUID
    admission_date: date
    outcome: str  # "created", "updated" or "unchanged"


@dataclass
class AdmissionsResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    admissions: list[RecordedAdmission] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


class AdmissionsRejected(RowsRejected):
    pass


@dataclass
class _Row:
    row: int
    values: dict[str, str]  # as given, stripped: errors quote them
    valid: bool  # False: some field is bad, but the patient is still looked up
    admission_date: date | None
    discharge_date: date | None
    stay_cost: Decimal | None
    patient_id: int | None = None
    patient_uuid: UUID | None = None


def _check_source(source: str) -> None:
    if source not in AdmissionSource.values:
        raise ValueError(f"source must be one of {', '.join(AdmissionSource.values)}")


@transaction.atomic
def admissions_record(
    *,
    rows: list[dict[str, Any]],
    changed_by: str,
    source: str = AdmissionSource.IMPORTED,
    row_numbers: list[int] | None = None,
) -> AdmissionsResult:
    """Record admission rows (dicts of ADMISSION_COLUMN_NAMES; values as text or numbers).

    Rows are numbered 1, 2, … in errors unless `row_numbers` says otherwise. Raises
    AdmissionsRejected with every error when any row is bad; nothing is written then."""
    _check_source(source)
    numbers = row_numbers or list(range(1, len(rows) + 1))
    return _record(
        rows=list(zip(numbers, rows, strict=True)),
        changed_by=changed_by,
        source=source,
        entity_type="ADMISSIONS",
        audit_values={},
        reason=f"admissions recorded by {changed_by}",
    )


@transaction.atomic
def admissions_import(
    *, path: Path, changed_by: str, source: str = AdmissionSource.IMPORTED
) -> AdmissionsResult:
    """Import an admissions CSV (docs/outcomes.md): a header line, then one admission per
    line. Errors name the file's line number (the header is line 1). Columns other than
    ADMISSION_COLUMN_NAMES are ignored and listed in the result."""
    _check_source(source)
    with path.open("rb") as handle:
        reader = CsvReader(handle)
        header = reader.header
        _check_header(header)
        rows: list[tuple[int, dict[str, Any]]] = []
        structural: list[RowError] = []
        for line, record in reader:
            if len(record) != len(header):
                reason = f"has {len(record)} fields, expected {len(header)}"
                structural.append(RowError(line, "(row)", ",".join(record)[:80], reason))
                continue
            known = zip(header, record, strict=True)
            rows.append((line, {n: v for n, v in known if n in ADMISSION_COLUMN_NAMES}))
    result = _record(
        rows=rows,
        changed_by=changed_by,
        source=source,
        entity_type="FILE",
        audit_values={"file": path.name, "sha256": _sha256(path)},
        reason=f"import of {path.name} by {changed_by}",
        structural=structural,
        row_count=len(rows) + len(structural),
    )
    result.ignored_columns = [n for n in header if n not in ADMISSION_COLUMN_NAMES]
    return result


def _check_header(header: list[str]) -> None:
    errors = [
        RowError(1, name, "", "required column is missing")
        for name in ADMISSION_REQUIRED_NAMES
        if name not in header
    ]
    if "external_id" not in header and "patient_uuid" not in header:
        errors.append(
            RowError(1, "external_id", "", "required column is missing (or patient_uuid)")
        )
    errors += [
        RowError(1, name, name, "column appears more than once")
        for name in sorted({n for n in header if header.count(n) > 1})
    ]
    if errors:
        raise AdmissionsRejected(sorted(errors), 0)


def _record(
    *,
    rows: list[tuple[int, dict[str, Any]]],
    changed_by: str,
    source: str,
    entity_type: str,
    audit_values: dict[str, Any],
    reason: str,
    structural: list[RowError] | None = None,
    row_count: int | None = None,
) -> AdmissionsResult:
    today = timezone.localdate()
    errors = list(structural or [])
    identified: list[_Row] = []  # rows whose patient can be looked up
    for number, raw in rows:
        parsed, row_errors = _row_parse(number, raw, today)
        errors += row_errors
        if parsed is not None:
            identified.append(parsed)
    for start in range(0, len(identified), CHUNK_ROWS):
        errors += _patients_resolve(identified[start : start + CHUNK_ROWS])
    valid = [r for r in identified if r.valid]
    errors += _duplicates(valid)
    total = len(rows) if row_count is None else row_count
    if errors:
        raise AdmissionsRejected(sorted(errors), total)

    result = AdmissionsResult(rows=total)
    created_ids: list[int] = []
    updated_ids: list[int] = []
    for start in range(0, len(valid), CHUNK_ROWS):
        chunk = valid[start : start + CHUNK_ROWS]
        written = _write(chunk, source=source, changed_by=changed_by)
        for row in chunk:
            key = (row.patient_id, row.admission_date)
            admission_id, inserted = written.get(key, (None, False))
            outcome = "unchanged" if admission_id is None else "created" if inserted else "updated"
            if outcome == "created":
                created_ids.append(admission_id)
            elif outcome == "updated":
                updated_ids.append(admission_id)
            result.admissions.append(
                RecordedAdmission(row.row, row.patient_uuid, row.admission_date, outcome)
            )
    result.created, result.updated = len(created_ids), len(updated_ids)
    result.unchanged = total - result.created - result.updated
    history_bulk_record(model=Admission, pks=created_ids, history_type="+", change_reason=reason)
    history_bulk_record(model=Admission, pks=updated_ids, history_type="~", change_reason=reason)
    audit_event_record(
        event_type=AuditEvent.ADMISSIONS_IMPORTED,
        changed_by=changed_by,
        entity_type=entity_type,
        new_values={
            **audit_values,
            "source": source,
            "rows": result.rows,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
        },
    )
    if result.created >= ANALYZE_AFTER_ROWS:
        transaction.on_commit(lambda: tables_analyze("admissions"))
    return result


def _text(value: Any) -> str:
    # JSON gives numbers, booleans and nulls; a file gives text. Errors quote what was sent.
    return spec_text(value)


def _row_parse(number: int, raw: Any, today: date) -> tuple[_Row | None, list[RowError]]:
    """The row's typed values and every error of the row; no row when its patient cannot be
    looked up (a bad or missing identifier), so that an unknown patient is reported
    alongside the row's other errors."""
    if not isinstance(raw, dict):
        return None, [RowError(number, "(row)", _text(raw)[:80], "is not an object of fields")]
    errors = [
        RowError(number, str(name), _text(value)[:80], UNKNOWN_FIELD)
        for name, value in raw.items()
        if name not in ADMISSION_COLUMN_NAMES
    ]
    values = {name: _text(raw.get(name)) for name in ADMISSION_COLUMN_NAMES}

    def error(column: str, reason: str) -> None:
        errors.append(RowError(number, column, values[column], reason))

    for column in ADMISSION_COLUMNS:
        reason = value_reason(column, values[column.name])
        if reason:
            error(column.name, reason)
    bad = {e.column for e in errors}

    if values["external_id"] and values["patient_uuid"]:
        error("patient_uuid", "give external_id or patient_uuid, not both")
    elif not values["external_id"] and not values["patient_uuid"]:
        error("external_id", "is required (or patient_uuid)")

    admitted = discharged = None
    if "admission_date" not in bad:
        admitted = date.fromisoformat(values["admission_date"])
        if admitted < EARLIEST_ADMISSION:
            error("admission_date", f"is before {EARLIEST_ADMISSION.isoformat()}")
        elif admitted > today:
            error("admission_date", f"is in the future (today is {today.isoformat()})")
    if values["discharge_date"] and "discharge_date" not in bad:
        discharged = date.fromisoformat(values["discharge_date"])
        if admitted and discharged < admitted:
            error("discharge_date", f"is before the admission_date {admitted.isoformat()}")
    # More than 2 decimal places is the specification's error (value_reason).
    cost = None if "stay_cost" in bad else Decimal(values["stay_cost"])
    if {e.column for e in errors} & {"external_id", "patient_uuid", "(row)"}:
        return None, errors
    return _Row(number, values, not errors, admitted, discharged, cost), errors


def _patients_resolve(rows: list[_Row]) -> list[RowError]:
    """Set each row's patient with one query; an unknown identifier is the row's error."""
    external_ids = [r.values["external_id"] for r in rows if r.values["external_id"]]
    uuids = [UUID(r.values["patient_uuid"]) for r in rows if r.values["patient_uuid"]]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT patient_id, patient_uuid, external_id FROM patients "
            "WHERE external_id = ANY(%s::text[]) OR patient_uuid = ANY(%s::uuid[])",
            [external_ids, uuids],
        )
        found = cursor.fetchall()
    by_external = {external_id: (pk, uuid) for pk, uuid, external_id in found if external_id}
    by_uuid = {uuid: (pk, uuid) for pk, uuid, _ in found}
    errors = []
    for row in rows:
        if row.values["external_id"]:
            column, match = "external_id", by_external.get(row.values["external_id"])
        else:
            column, match = "patient_uuid", by_uuid.get(UUID(row.values["patient_uuid"]))
        if match is None:
            value = row.values[column]
            errors.append(RowError(row.row, column, value, f"no patient has this {column}"))
        else:
            row.patient_id, row.patient_uuid = match
    return errors


def _duplicates(rows: list[_Row]) -> list[RowError]:
    """One admission per patient and day: rows naming the same one twice are all errors
    (which of them is right cannot be told)."""
    by_key: dict[tuple[int, date], list[_Row]] = defaultdict(list)
    for row in rows:
        if row.patient_id is not None:
            by_key[(row.patient_id, row.admission_date)].append(row)
    errors = []
    for same in by_key.values():
        if len(same) > 1:
            numbers = ", ".join(str(r.row) for r in same)
            reason = f"appears more than once for this patient (rows {numbers})"
            errors += [
                RowError(r.row, "admission_date", r.values["admission_date"], reason) for r in same
            ]
    return errors


def _write(rows: list[_Row], *, source: str, changed_by: str) -> dict[tuple[int, date], tuple]:
    """Insert new admissions and update changed ones from four arrays, in one statement.
    Returns {(patient_id, admission_date): (admission_id, inserted)} of the rows it wrote;
    unchanged rows are not written (the WHERE of DO UPDATE), so they are absent."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO admissions AS a
                   (patient_id, admission_date, discharge_date, stay_cost, source, created_by)
            SELECT s.patient_id, s.admission_date, s.discharge_date, s.stay_cost, %s, %s
            FROM unnest(%s::bigint[], %s::date[], %s::date[], %s::numeric(10,2)[])
                 AS s(patient_id, admission_date, discharge_date, stay_cost)
            ON CONFLICT (patient_id, admission_date) DO UPDATE
               SET discharge_date = EXCLUDED.discharge_date, stay_cost = EXCLUDED.stay_cost
               WHERE (a.discharge_date, a.stay_cost)
                     IS DISTINCT FROM (EXCLUDED.discharge_date, EXCLUDED.stay_cost)
            RETURNING a.admission_id, a.patient_id, a.admission_date, (a.xmax = 0) AS inserted
            """,
            [
                source,
                changed_by,
                [r.patient_id for r in rows],
                [r.admission_date for r in rows],
                [r.discharge_date for r in rows],
                [r.stay_cost for r in rows],
            ],
        )
        return {(pid, day): (pk, inserted) for pk, pid, day, inserted in cursor.fetchall()}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
