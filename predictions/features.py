"""Model inputs: DataFrames of the feature contract's columns, from the database or a file,
and the shared one-hot encoding that turns them into the matrix our trained models take."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db import connection
from psycopg.types.numeric import FloatLoader

from patients.feature_contract import Kind, features


def frame_prepare(frame: pd.DataFrame, contract_version: int = 1) -> pd.DataFrame:
    """The contract's columns in order, typed the same way whatever the source. Built from
    arrays in one go: column-by-column assignment cost ~8 ms for a single patient."""
    columns = {}
    for feature in features(contract_version):
        values = frame[feature.name].to_numpy()
        if feature.kind == Kind.CATEGORY:
            columns[feature.name] = values.astype(str).astype(object)
        elif feature.kind == Kind.BOOLEAN:
            columns[feature.name] = np.fromiter(map(_as_flag, values), "float64", len(values))
        else:
            columns[feature.name] = pd.to_numeric(values).astype("float64")
    return pd.DataFrame(columns, index=frame.index)


def _as_flag(value) -> int:
    if isinstance(value, str):
        return int(value.strip().lower() in ("1", "true"))
    return int(bool(value))


@dataclass(frozen=True)
class CategoryEncoding:
    """One-hot columns for the contract's category features (learnt at training) followed
    by the other features as they are. Stored in the model bundle and applied once per
    scoring call for all three windows: encoding inside each window's pipeline cost a
    ColumnTransformer pass per window, most of a one-patient scoring's time."""

    categories: dict[str, list[str]]

    @classmethod
    def fit(cls, frame: pd.DataFrame) -> "CategoryEncoding":
        names = [f.name for f in features() if f.kind == Kind.CATEGORY]
        return cls({name: sorted(frame[name].astype(str).unique().tolist()) for name in names})

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Unknown labels get all-zero columns (as OneHotEncoder's handle_unknown="ignore")."""
        blocks = [
            frame[name].to_numpy(dtype=str)[:, None] == np.asarray(labels, dtype=str)[None, :]
            for name, labels in self.categories.items()
        ]
        rest = frame.drop(columns=list(self.categories)).to_numpy(dtype="float64")
        return np.hstack([*(block.astype("float64") for block in blocks), rest])


def feature_frame(patient_ids: list[int], contract_version: int = 1) -> pd.DataFrame:
    """Features of these patients in one query, indexed by patient_id, numeric columns read
    straight into floats (no Decimal objects on the hot path)."""
    columns = [
        f"{'p' if f.table == 'patients' else 'f'}.{f.name}" for f in features(contract_version)
    ]
    with connection.cursor() as cursor:
        raw = cursor.cursor
        raw.adapters.register_loader("numeric", FloatLoader)
        raw.execute(
            f"SELECT p.patient_id, {', '.join(columns)} "  # noqa: S608
            "FROM patients p JOIN patient_features f ON f.patient_id = p.patient_id "
            "WHERE p.patient_id = ANY(%s) ORDER BY p.patient_id",
            [patient_ids],
        )
        rows = raw.fetchall()
    # The database already gives each kind its type (floats, smallints, booleans, text):
    # build the frame column by column from the rows, once, without frame_prepare's parsing.
    ids, *values = zip(*rows, strict=True) if rows else ((), *([()] * len(columns)))
    data = {
        feature.name: np.asarray(
            column, dtype=object if feature.kind == Kind.CATEGORY else "float64"
        )
        for feature, column in zip(features(contract_version), values, strict=True)
    }
    return pd.DataFrame(data, index=pd.Index(ids, name="patient_id", dtype="int64"))


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
