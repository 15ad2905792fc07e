"""Model inputs: DataFrames of the feature contract's columns, from the database or a file."""

import pandas as pd
from django.db import connection
from psycopg.types.numeric import FloatLoader

from patients.feature_contract import Kind, feature_names, features

ID_COLUMNS = ("patient_id", "patient_uuid")


def frame_prepare(frame: pd.DataFrame, contract_version: int = 1) -> pd.DataFrame:
    """The contract's columns in order, typed the same way whatever the source."""
    prepared = pd.DataFrame(index=frame.index)
    for feature in features(contract_version):
        column = frame[feature.name]
        if feature.kind == Kind.CATEGORY:
            prepared[feature.name] = column.astype(str)
        elif feature.kind == Kind.BOOLEAN:
            prepared[feature.name] = column.map(_as_flag).astype("float64")
        else:
            prepared[feature.name] = pd.to_numeric(column).astype("float64")
    return prepared


def _as_flag(value) -> int:
    if isinstance(value, str):
        return int(value.strip().lower() in ("1", "true"))
    return int(bool(value))


def feature_frame(patient_ids: list[int], contract_version: int = 1) -> pd.DataFrame:
    """Features of these patients in one query, indexed by patient_id (with patient_uuid),
    numeric columns read straight into floats (no Decimal objects on the hot path)."""
    columns = [
        f"{'p' if f.table == 'patients' else 'f'}.{f.name}" for f in features(contract_version)
    ]
    with connection.cursor() as cursor:
        raw = cursor.cursor
        raw.adapters.register_loader("numeric", FloatLoader)
        raw.execute(
            f"SELECT p.patient_id, p.patient_uuid, {', '.join(columns)} "  # noqa: S608
            "FROM patients p JOIN patient_features f ON f.patient_id = p.patient_id "
            "WHERE p.patient_id = ANY(%s) ORDER BY p.patient_id",
            [patient_ids],
        )
        rows = raw.fetchall()
    names = [*ID_COLUMNS, *feature_names(contract_version)]
    frame = pd.DataFrame(rows, columns=names)
    prepared = frame_prepare(frame, contract_version)
    prepared.insert(0, "patient_uuid", frame["patient_uuid"].astype(str))
    prepared.index = pd.Index(frame["patient_id"], name="patient_id")
    return prepared


def contract_sample_frame(contract_version: int = 1) -> pd.DataFrame:
    """A few plausible rows of every contract column, for checking that a model accepts the
    contract (register_model)."""
    values = {
        Kind.NUMERIC: [0.0, 1.0, 5.0, 72.0, 0.5],
        Kind.BINARY: [0.0, 1.0, 0.0, 1.0, 0.0],
        Kind.BOOLEAN: [1.0, 0.0, 1.0, 1.0, 0.0],
        Kind.CONDITION: [1.0, 2.0, 0.0, 1.0, 2.0],
    }
    categories = {
        "gender": ["F", "M", "F", "M", "F"],
        "race": ["White", "Black", "Hispanic", "Asian", "Other"],
    }
    frame = pd.DataFrame(
        {
            f.name: categories[f.name] if f.kind == Kind.CATEGORY else values[f.kind]
            for f in features(contract_version)
        }
    )
    return frame_prepare(frame, contract_version)
