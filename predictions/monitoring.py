"""Live model monitoring, the arithmetic (numpy and scikit-learn, no database): observed
performance once outcomes exist, drift of the scored population before they do, and the
warnings both raise (docs/monitoring.md, "Model monitoring").

Drift is the population stability index, PSI = sum over bins of (a - e) * ln(a / e), with
e the training share and a the current share of each bin. Training stores the bins
(`drift_reference_build`, in ModelVersion.metrics["drift_reference"]) so that monitoring
compares against the data the model learnt from, not against last month's population.
"""

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from predictions.fairness import GroupFairness, fairness_warnings
from predictions.metrics import calibration_slope_intercept

DRIFT_REFERENCE_VERSION = 1
QUANTILE_BINS = 10
# Numeric columns with this few distinct values (codes, flags, small counts) are binned by
# value: deciles of a 0/1 column would collapse into one bin.
MAX_DISCRETE_VALUES = 12
OTHER = "__other__"  # current labels the training data never had
# Empty bins would make ln(a / e) infinite; shares are floored at this.
PSI_FLOOR = 1e-4
TOP_FEATURES = 5
# Outcome rows per window below which a slope is not fitted (a logistic fit of a handful of
# rows says nothing).
MIN_SLOPE_N = 20


@dataclass(frozen=True)
class Thresholds:
    """What counts as a problem; from settings (MONITORING_*), passed in to keep this pure."""

    auc_margin: float = 0.05
    calibration_tolerance: float = 0.05
    slope_low: float = 0.8
    slope_high: float = 1.2
    psi_moderate: float = 0.1
    psi_threshold: float = 0.25
    min_outcomes: int = 100
    min_population: int = 100


# --- the training reference ----------------------------------------------------------------


def _discrete_label(value) -> str:
    return f"{float(value):g}"


def column_reference(column: pd.Series) -> dict:
    """Bins of one training column and the share of rows in each: labels for categories and
    low-cardinality numbers, decile cut points (open-ended) for the other numbers."""
    values = column.dropna()
    n = len(values)
    if not pd.api.types.is_numeric_dtype(values):
        shares = values.astype(str).value_counts(normalize=True).sort_index()
        return {"kind": "category", "n": n, "shares": {k: float(v) for k, v in shares.items()}}
    numbers = values.astype("float64")
    if numbers.nunique() <= MAX_DISCRETE_VALUES:
        shares = numbers.map(_discrete_label).value_counts(normalize=True).sort_index()
        return {"kind": "discrete", "n": n, "shares": {k: float(v) for k, v in shares.items()}}
    quantiles = np.quantile(numbers, np.linspace(0, 1, QUANTILE_BINS + 1)[1:-1])
    edges = np.unique(quantiles)
    counts = np.bincount(np.searchsorted(edges, numbers, side="right"), minlength=len(edges) + 1)
    return {
        "kind": "binned",
        "n": n,
        "edges": [float(e) for e in edges],
        "shares": [float(c) / n for c in counts],
    }


def drift_reference_build(frame: pd.DataFrame, holdout_risks: dict[str, np.ndarray]) -> dict:
    """What drift monitoring needs from training: per feature the bins of the training rows,
    per window the bins of the held-out scores (out-of-sample, as live scores are)."""
    return {
        "version": DRIFT_REFERENCE_VERSION,
        "features": {name: column_reference(column) for name, column in frame.items()},
        # Rounded as stored scores are (4 decimals): calibrated scores tie a lot, and a tie
        # sitting on a bin edge must fall on the same side in training and in production.
        "scores": {
            window: column_reference(pd.Series(np.round(np.asarray(risk, dtype="float64"), 4)))
            for window, risk in holdout_risks.items()
        },
    }


def reference_usable(reference: dict | None) -> str | None:
    """None when `reference` can be compared against; otherwise why not, for the card."""
    if not reference:
        return (
            "This version stores no training distribution (it was trained or registered "
            "before drift monitoring); retrain it to monitor drift."
        )
    if reference.get("version") != DRIFT_REFERENCE_VERSION or not reference.get("features"):
        return "This version's stored training distribution has an unknown format."
    return None


# --- counting the current data into the training bins --------------------------------------


def column_counts(reference: dict, column: pd.Series) -> dict[str, int] | list[int]:
    """Counts of `column` in the bins of `reference` (unknown labels go to OTHER)."""
    values = column.dropna()
    if reference["kind"] == "binned":
        edges = np.asarray(reference["edges"], dtype="float64")
        index = np.searchsorted(edges, values.astype("float64"), side="right")
        return np.bincount(index, minlength=len(edges) + 1).tolist()
    labels = (
        values.astype(str)
        if reference["kind"] == "category"
        else values.astype("float64").map(_discrete_label)
    )
    known = set(reference["shares"])
    counts = {label: 0 for label in reference["shares"]}
    counts[OTHER] = 0
    for label, count in labels.value_counts().items():
        counts[label if label in known else OTHER] += int(count)
    return counts


def counts_add(total: dict | list | None, more: dict | list) -> dict | list:
    """Sum counts of chunks (the population is read in chunks)."""
    if total is None:
        return more
    if isinstance(more, list):
        return [a + b for a, b in zip(total, more, strict=True)]
    return {k: total.get(k, 0) + v for k, v in more.items()}


def psi(expected: Iterable[float], actual_counts: Iterable[int]) -> float:
    """Population stability index of current counts against training shares."""
    e = np.asarray(list(expected), dtype="float64")
    a = np.asarray(list(actual_counts), dtype="float64")
    if a.sum() == 0:
        raise ValueError("no current values to compare")
    a = a / a.sum()
    e, a = np.maximum(e, PSI_FLOOR), np.maximum(a, PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def reference_psi(reference: dict, counts: dict | list) -> float:
    if reference["kind"] == "binned":
        return psi(reference["shares"], counts)
    labels = [*reference["shares"], OTHER]
    return psi([reference["shares"].get(k, 0.0) for k in labels], [counts[k] for k in labels])


def psi_level(value: float, t: Thresholds) -> str:
    if value > t.psi_threshold:
        return "major"
    return "moderate" if value >= t.psi_moderate else "stable"


def feature_drift(reference: dict, counts: dict[str, dict | list], t: Thresholds) -> dict:
    """PSI per feature, most drifted first, and the names of the top ones (moderate or
    major drift only: naming stable features as 'drifting' would send people hunting)."""
    rows = []
    for name, ref in reference["features"].items():
        if name not in counts:
            continue
        value = reference_psi(ref, counts[name])
        rows.append({"feature": name, "psi": value, "level": psi_level(value, t)})
    rows.sort(key=lambda r: -r["psi"])
    top = [r["feature"] for r in rows[:TOP_FEATURES] if r["level"] != "stable"]
    return {"features": rows, "top": top}


def score_drift(reference: dict, scores: dict[str, np.ndarray], t: Thresholds) -> dict:
    """PSI of each window's current scores against the held-out scores of training."""
    result = {}
    for window, values in scores.items():
        ref = (reference.get("scores") or {}).get(window)
        if ref is None or not len(values):
            continue
        value = reference_psi(ref, column_counts(ref, pd.Series(values, dtype="float64")))
        result[window] = {"n": len(values), "psi": value, "level": psi_level(value, t)}
    return result


# --- observed performance ------------------------------------------------------------------


def observed_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    """Discrimination and calibration of scores `p` against outcomes `y`, unrounded.
    AUC, slope and intercept are None when only one class occurred (they are undefined)."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype="float64")
    n = len(y)
    result = {
        "n": n,
        "admissions": int(y.sum()),
        "observed_rate": float(y.mean()) if n else None,
        "mean_predicted": float(p.mean()) if n else None,
        "calibration_in_the_large": float(p.mean() - y.mean()) if n else None,
        "brier": float(brier_score_loss(y, p, labels=[0, 1])) if n else None,
        "auc": None,
        "calibration_slope": None,
        "calibration_intercept": None,
    }
    if len(np.unique(y)) == 2:
        result["auc"] = float(roc_auc_score(y, p))
        if n >= MIN_SLOPE_N:
            slope, intercept = calibration_slope_intercept(y, p)
            result["calibration_slope"], result["calibration_intercept"] = slope, intercept
    return result


TRAINING_KEYS = (
    "n",
    "auc",
    "brier",
    "observed_rate",
    "mean_predicted",
    "calibration_slope",
    "calibration_intercept",
)


def observed_window(frame: pd.DataFrame, training: dict) -> dict:
    """One window's outcomes (columns score, admitted, month, race, gender): overall, per
    calendar month of the prediction date, and by race and gender, next to training's."""
    y, p = frame["admitted"].to_numpy(), frame["score"].to_numpy()
    by_month = [
        {"month": month, **observed_metrics(part["admitted"], part["score"])}
        for month, part in frame.groupby("month", sort=True)
    ]
    groups = {}
    for attribute in ("race", "gender"):
        held_out = training.get(f"by_{attribute}") or {}
        groups[attribute] = {
            str(name): {
                **observed_metrics(part["admitted"], part["score"]),
                "training_auc": (held_out.get(str(name)) or {}).get("auc"),
            }
            for name, part in frame.groupby(attribute, sort=True)
        }
    return {
        "overall": observed_metrics(y, p),
        "training": {k: training.get(k) for k in TRAINING_KEYS},
        "by_month": by_month,
        "by_race": groups["race"],
        "by_gender": groups["gender"],
    }


def observed_fairness_notes(window_label: str, observed: dict) -> list[str]:
    """The fairness screens (predictions/fairness.py) applied to observed outcomes."""
    notes = []
    overall_auc = observed["overall"]["auc"]
    for attribute in ("race", "gender"):
        groups = [
            GroupFairness(
                attribute=attribute,
                group=name,
                holdout_n=m["n"],
                auc=m["auc"],
                mean_predicted=m["mean_predicted"],
                observed_rate=m["observed_rate"],
            )
            for name, m in observed[f"by_{attribute}"].items()
        ]
        notes += [
            f"{window_label}, observed, by {attribute}: {w}"
            for w in fairness_warnings(overall_auc=overall_auc, groups=groups)
        ]
    return notes


# --- warnings ------------------------------------------------------------------------------


def _warning(kind: str, message: str, **where) -> dict:
    return {"kind": kind, **where, "message": message}


def performance_warnings(window_label: str, window: str, observed: dict, t: Thresholds) -> list:
    """AUC more than the margin below training's, calibration out of bounds. Windows with
    fewer than `min_outcomes` outcomes are not judged (noise, not evidence)."""
    o, trained = observed["overall"], observed["training"]
    if o["n"] < t.min_outcomes:
        return []
    warnings = []
    trained_auc = trained.get("auc")
    if o["auc"] is not None and trained_auc is not None and o["auc"] < trained_auc - t.auc_margin:
        warnings.append(_warning(
            "auc",
            f"{window_label}: observed AUC {o['auc']:.3f} on {o['n']} outcomes is more "
            f"than {t.auc_margin} below the training AUC {trained_auc:.3f}.",
            window=window,
        ))  # fmt: skip
    citl = o["calibration_in_the_large"]
    if citl is not None and abs(citl) > t.calibration_tolerance:
        direction = "over" if citl > 0 else "under"
        warnings.append(_warning(
            "calibration",
            f"{window_label}: scores {direction}state the risk: mean predicted "
            f"{o['mean_predicted']:.3f} against {o['observed_rate']:.3f} observed "
            f"(difference above {t.calibration_tolerance}).",
            window=window,
        ))  # fmt: skip
    slope = o["calibration_slope"]
    if slope is not None and not t.slope_low <= slope <= t.slope_high:
        warnings.append(_warning(
            "calibration",
            f"{window_label}: observed calibration slope {slope:.2f} is outside "
            f"{t.slope_low}-{t.slope_high} ({'too extreme' if slope < 1 else 'too timid'}).",
            window=window,
        ))  # fmt: skip
    return warnings


def drift_warnings(drift: dict, labels: dict[str, str], t: Thresholds) -> list[dict]:
    if not drift.get("available"):
        return []
    warnings = [
        _warning(
            "feature_drift",
            f"Feature {row['feature']} has drifted from training: PSI {row['psi']:.3f} "
            f"(above {t.psi_threshold}).",
            feature=row["feature"],
        )
        for row in drift["features"]
        if row["psi"] > t.psi_threshold
    ]
    for window, row in drift["scores"].items():
        if row["psi"] > t.psi_threshold:
            warnings.append(_warning(
                "score_drift",
                f"{labels.get(window, window)}: current scores have drifted from the "
                f"held-out scores of training: PSI {row['psi']:.3f} (above {t.psi_threshold}).",
                window=window,
            ))  # fmt: skip
    return warnings
