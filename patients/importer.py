"""Load an X_test-style CSV of patients and their features: COPY into a staging table,
validate every row in SQL, then write with a handful of set-based statements.

One transaction: by default a single bad row rejects the file and nothing is written; with
`skip_invalid` the good rows are written and the bad ones returned (and saved as a rejects
CSV with their reasons). Re-importing the same file changes nothing; a changed row updates
that patient (history kept).
"""

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction

from patients.csv_reader import CsvReader, RowError, RowsRejected
from patients.departments import department_code_sql
from patients.feature_contract import CURRENT_VERSION
from patients.import_schema import (
    COLUMN_NAMES,
    FEATURE_COLUMNS,
    NOT_IMPORTED_FIELDS,
    PATIENT_COLUMNS,
    REQUIRED_NAMES,
    UNKNOWN_FIELD,
    typed_value_sql,
    validation_sql,
)
from patients.models import DataSource, Patient, PatientFeatures
from riskplatform.core.csv_safe import csv_writer
from riskplatform.core.db import tables_analyze
from riskplatform.core.history import history_bulk_record
from riskplatform.core.locks import advisory_xact_lock
from riskplatform.core.models import AuditEvent
from riskplatform.core.services import audit_event_record

IMPORT_SOURCES = (DataSource.X_TEST, DataSource.IMPORTED)
STAGING = "import_staging"
PATIENT_VALUES = ("age", "gender", "race", "annual_cost", "cost_percentile")
FEATURE_NAMES = tuple(c.name for c in FEATURE_COLUMNS)
# Imports run one after the other: a second import of the same patients waits, then sees the
# first one's rows, so its counts are true and its values are the ones kept.
IMPORT_LOCK = "patients.import"


class PatientFileRejected(RowsRejected):
    pass


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    rejects_path: Path | None = None
    seconds: float = 0.0


def patients_import(
    *,
    path: Path,
    source: str,
    changed_by: str,
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
) -> ImportResult:
    if source not in IMPORT_SOURCES:
        raise ValueError(f"source must be one of {', '.join(IMPORT_SOURCES)}")
    started = time.perf_counter()
    result = ImportResult()
    with path.open("rb") as handle:
        reader = CsvReader(handle)
        header = reader.header
        _check_header(header)
        result.ignored_columns = [name for name in header if name not in COLUMN_NAMES]
        with transaction.atomic():
            advisory_xact_lock(IMPORT_LOCK)
            raw_rows, structural = _copy_to_staging(reader, header)
            result.rows = len(raw_rows)
            errors = sorted(structural + _validate())
            bad_rows = sorted({e.row for e in errors})
            if errors and not skip_invalid:
                raise PatientFileRejected(errors, result.rows)
            _drop_rows(bad_rows)
            created, updated = _write(source=source, changed_by=changed_by, path=path)
            result.created, result.updated = created, updated
            result.rejected = len(bad_rows)
            result.unchanged = result.rows - result.rejected - created - updated
            result.errors = errors
            audit_event_record(
                event_type=AuditEvent.IMPORT_RUN,
                changed_by=changed_by,
                entity_type="FILE",
                new_values={
                    "file": path.name,
                    "sha256": _sha256(path),
                    "source": source,
                    "rows": result.rows,
                    "created": created,
                    "updated": updated,
                    "unchanged": result.unchanged,
                    "rejected": result.rejected,
                    "ignored_columns": result.ignored_columns,
                },
            )
    if result.created or result.updated:
        tables_analyze("patients", "patient_features")
    if bad_rows:
        result.rejects_path = rejects_path or path.with_suffix(".rejects.csv")
        _write_rejects(result.rejects_path, header, raw_rows, errors)
    result.seconds = time.perf_counter() - started
    return result


def _check_header(header: list[str]) -> None:
    errors = [
        RowError(1, name, "", "required column is missing")
        for name in REQUIRED_NAMES
        if name not in header
    ]
    errors += [
        RowError(1, name, name, "column appears more than once")
        for name in sorted({n for n in header if header.count(n) > 1})
    ]
    errors += [
        RowError(1, name, name, f"{UNKNOWN_FIELD} (the platform sets it, not an import)")
        for name in header
        if name in NOT_IMPORTED_FIELDS
    ]
    if errors:
        raise PatientFileRejected(sorted(errors), 0)


def _copy_to_staging(
    reader: CsvReader, header: list[str]
) -> tuple[dict[int, list[str]], list[RowError]]:
    known = [(index, name) for index, name in enumerate(header) if name in COLUMN_NAMES]
    raw_rows: dict[int, list[str]] = {}
    errors: list[RowError] = []
    with connection.cursor() as cursor:
        columns = ", ".join(f"{name} text" for name in COLUMN_NAMES)
        # DROP first: ON COMMIT DROP does not fire inside a caller's enclosing transaction.
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")
        cursor.execute(f"CREATE TEMP TABLE {STAGING} (row_no int, {columns}) ON COMMIT DROP")
        target = ", ".join(name for _, name in known)
        with cursor.cursor.copy(f"COPY {STAGING} (row_no, {target}) FROM STDIN") as copy:
            for line, record in reader:
                raw_rows[line] = record
                if len(record) != len(header):
                    errors.append(
                        RowError(
                            line,
                            "(row)",
                            ",".join(record)[:80],
                            f"has {len(record)} fields, expected {len(header)}",
                        )
                    )
                    continue
                copy.write_row([line, *(record[index] for index, _ in known)])
    return raw_rows, errors


def _validate() -> list[RowError]:
    with connection.cursor() as cursor:
        cursor.execute(validation_sql(STAGING))
        return [RowError(row, column, value or "", reason) for row, column, value, reason in cursor]


def _drop_rows(rows: list[int]) -> None:
    if rows:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {STAGING} WHERE row_no = ANY(%s)", [rows])


def _write(*, source: str, changed_by: str, path: Path) -> tuple[int, int]:
    """Insert new patients, update changed ones, and their features. Returns (created,
    updated) patient counts."""
    typed = ", ".join(
        f"{typed_value_sql(c)} AS {c.name}"
        for c in (*PATIENT_COLUMNS, *FEATURE_COLUMNS)
        if c.name not in ("external_id", "department_code")
    )
    feature_cols = ", ".join(FEATURE_NAMES)
    r_features = ", ".join(f"r.{n}" for n in FEATURE_NAMES)
    f_features = ", ".join(f"f.{n}" for n in FEATURE_NAMES)
    reason = f"import of {path.name} by {changed_by}"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS import_rows")
        cursor.execute(
            f"""
            CREATE TEMP TABLE import_rows ON COMMIT DROP AS
            SELECT btrim(s.external_id) AS external_id,
                   upper(nullif(btrim(s.department_code), '')) AS department_code,
                   {typed}
            FROM {STAGING} s
            """
        )
        # Inserts first, then updates: a row another transaction inserted meanwhile makes
        # the INSERT wait for it and skip it, and the UPDATE that follows (a new snapshot)
        # then sees it and writes this file's values. The rows just inserted already hold
        # them, so the UPDATE's IS DISTINCT FROM passes them by. An existing patient keeps
        # a department set earlier unless the file names one.
        cursor.execute(
            f"""
            INSERT INTO patients (external_id, age, gender, race, department_id, data_source,
                                  annual_cost, cost_percentile, created_by)
            SELECT r.external_id, r.age, r.gender, r.race, d.department_id, %s,
                   r.annual_cost, r.cost_percentile, %s
            FROM import_rows r
            JOIN departments d
              ON d.department_code = COALESCE(r.department_code, {department_code_sql("r")})
            ON CONFLICT (external_id) DO NOTHING
            RETURNING patient_id
            """,
            [source, changed_by],
        )
        created = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"""
            UPDATE patients p
            SET {", ".join(f"{n} = r.{n}" for n in PATIENT_VALUES)},
                department_id = COALESCE(d.department_id, p.department_id),
                updated_at = statement_timestamp(), updated_by = %s
            FROM import_rows r LEFT JOIN departments d ON d.department_code = r.department_code
            WHERE p.external_id = r.external_id
              AND ({", ".join(f"p.{n}" for n in PATIENT_VALUES)}, p.department_id)
                  IS DISTINCT FROM
                  ({", ".join(f"r.{n}" for n in PATIENT_VALUES)},
                   COALESCE(d.department_id, p.department_id))
            RETURNING p.patient_id
            """,
            [changed_by],
        )
        updated = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            f"""
            INSERT INTO patient_features (patient_id, {feature_cols}, feature_version)
            SELECT p.patient_id, {r_features}, %s
            FROM import_rows r JOIN patients p ON p.external_id = r.external_id
            ON CONFLICT (patient_id) DO NOTHING
            RETURNING feature_id, patient_id
            """,
            [CURRENT_VERSION],
        )
        inserted_features = cursor.fetchall()
        cursor.execute(
            f"""
            UPDATE patient_features f
            SET {", ".join(f"{n} = r.{n}" for n in FEATURE_NAMES)},
                feature_version = %s, updated_at = statement_timestamp()
            FROM import_rows r JOIN patients p ON p.external_id = r.external_id
            WHERE f.patient_id = p.patient_id
              AND ({f_features}) IS DISTINCT FROM ({r_features})
            RETURNING f.feature_id, f.patient_id
            """,
            [CURRENT_VERSION],
        )
        updated_features = cursor.fetchall()

    history_bulk_record(model=Patient, pks=created, history_type="+", change_reason=reason)
    history_bulk_record(model=Patient, pks=sorted(updated), history_type="~", change_reason=reason)
    history_bulk_record(
        model=PatientFeatures,
        pks=[feature_id for feature_id, _ in inserted_features],
        history_type="+",
        change_reason=reason,
    )
    history_bulk_record(
        model=PatientFeatures,
        pks=[feature_id for feature_id, _ in updated_features],
        history_type="~",
        change_reason=reason,
    )
    created_set = set(created)
    updated |= {pid for _, pid in inserted_features + updated_features if pid not in created_set}
    return len(created), len(updated)


def _write_rejects(
    path: Path, header: list[str], raw_rows: dict[int, list[str]], errors: list[RowError]
) -> None:
    by_row: dict[int, list[str]] = {}
    for error in errors:
        by_row.setdefault(error.row, []).append(
            f"{error.column}: {error.reason} (value {error.value!r})"
        )
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv_writer(handle)  # the file's own cells may be formulas: neutralised
        writer.writerow(["row", *header, "errors"])
        for row in sorted(by_row):
            writer.writerow([row, *raw_rows[row], "; ".join(by_row[row])])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
