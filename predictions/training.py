"""Train the three window models on a labelled file and evaluate them on a held-out split."""

import gzip
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from patients.feature_contract import feature_names
from predictions.calibrated import CalibratedBooster
from predictions.explanations import profile_from_frame
from predictions.features import CategoryEncoding, frame_prepare
from predictions.metrics import group_metrics, score_metrics
from predictions.model_store import WINDOWS, predict_risks
from predictions.monitoring import drift_reference_build

LABELS = {"30_day": "admitted_30d", "60_day": "admitted_60d", "90_day": "admitted_90d"}
TRUTH = {"30_day": "true_risk_30", "60_day": "true_risk_60", "90_day": "true_risk_90"}


@dataclass(frozen=True)
class TrainingOutcome:
    models: dict
    encoding: CategoryEncoding
    metrics: dict
    holdout_risks: dict[str, np.ndarray]
    fingerprint: str


def build_classifier(*, seed: int, max_iter: int = 300) -> CalibratedBooster:
    """Gradient-boosted trees on the encoded matrix (`CategoryEncoding`), isotonic
    calibration on 3-fold out-of-fold predictions (one booster at scoring time)."""
    booster = HistGradientBoostingClassifier(
        learning_rate=0.06,
        max_iter=max_iter,
        max_leaf_nodes=15,
        min_samples_leaf=50,
        l2_regularization=1.0,
        early_stopping=True,
        validation_fraction=0.15,
        n_iter_no_change=20,
        random_state=seed,
    )
    return CalibratedBooster(booster, folds=3)


CSV_DTYPES = {"gender": str, "race": str}


def training_frame_read(path: Path) -> pd.DataFrame:
    return _required_columns_checked(pd.read_csv(path, dtype=CSV_DTYPES), name=path.name)


def training_frame_parse(content: bytes, *, name: str) -> pd.DataFrame:
    """What `training_frame_read` gives for a file holding `content`, with the same errors."""
    return _required_columns_checked(pd.read_csv(io.BytesIO(content), dtype=CSV_DTYPES), name=name)


def _required_columns_checked(frame: pd.DataFrame, *, name: str) -> pd.DataFrame:
    missing = [c for c in [*feature_names(), *LABELS.values()] if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks required columns: {', '.join(missing)}")
    return frame


def training_fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of the rows' pandas hashes (the values in column order; not the index): a
    version's `training_fingerprint` and the identity of its training snapshot."""
    return hashlib.sha256(
        pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
    ).hexdigest()


def training_data_encode(
    *, path: Path | None = None, frame: pd.DataFrame | None = None, name: str
) -> tuple[pd.DataFrame, bytes]:
    """The frame `training_frame_read` makes of `path` (or `frame` as a CSV) and a gzip of
    that CSV, refused unless decoding the gzip gives back exactly the same frame."""
    if path is not None:
        frame = training_frame_read(path)
        csv = path.read_bytes()  # the file's own bytes: re-parsing them is exact by design
    else:
        frame = frame.reset_index(drop=True)
        csv = frame.to_csv(index=False).encode()
    stored = training_frame_parse(csv, name=name)
    if not (list(stored.columns) == list(frame.columns) and stored.equals(frame)):
        raise ValueError(
            f"{name} does not read back exactly from CSV (a compressed file, or a frame whose "
            "types or floats a CSV changes); register the plain CSV file instead"
        )
    return stored, gzip.compress(csv, compresslevel=6, mtime=0)


def training_data_decode(content: bytes, *, name: str) -> pd.DataFrame:
    return training_frame_parse(gzip.decompress(content), name=name)


def models_train(
    *, frame: pd.DataFrame, seed: int, holdout: float = 0.25, max_iter: int = 300
) -> TrainingOutcome:
    features = frame_prepare(frame[feature_names()])
    encoding = CategoryEncoding.fit(features)
    matrix = encoding.transform(features)
    train, test = train_test_split(
        np.arange(len(frame)), test_size=holdout, random_state=seed,
        stratify=frame[LABELS["90_day"]],
    )  # fmt: skip
    models = {
        window: build_classifier(seed=seed, max_iter=max_iter).fit(
            matrix[train], frame[label].to_numpy()[train]
        )
        for window, label in LABELS.items()
    }
    holdout_frame = frame.iloc[test]
    risks = predict_risks(models, features.iloc[test], encoding)
    metrics = {
        "holdout": {"n": len(test), "share": holdout, "split_seed": seed, "train_n": len(train)},
        "reference_profile": profile_from_frame(features.iloc[train]),
        # Bins of the training rows and held-out scores, for drift monitoring (PSI).
        "drift_reference": drift_reference_build(features.iloc[train], risks),
        "windows": {w: window_metrics(holdout_frame, w, risks[w]) for w in WINDOWS},
    }
    return TrainingOutcome(models, encoding, metrics, risks, training_fingerprint(frame))


def window_metrics(frame: pd.DataFrame, window: str, risk: np.ndarray) -> dict:
    y = frame[LABELS[window]].to_numpy().astype(int)
    metrics = score_metrics(y, risk)
    if TRUTH[window] in frame.columns and len(np.unique(y)) == 2:
        truth_auc = float(roc_auc_score(y, frame[TRUTH[window]].to_numpy()))
        metrics["truth_auc"] = round(truth_auc, 4)
        metrics["auc_ratio_to_truth"] = round(metrics["auc"] / truth_auc, 4)
    metrics["by_gender"] = group_metrics(y, risk, frame["gender"].astype(str).to_numpy())
    metrics["by_race"] = group_metrics(y, risk, frame["race"].astype(str).to_numpy())
    return metrics
