"""Discrimination and calibration of risk scores, overall and by group."""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

MIN_GROUP_SIZE = 50
CALIBRATION_BINS = 10
_EPS = 1e-6


def calibration_slope_intercept(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Logistic recalibration: regress the outcome on logit(p). Slope 1 and intercept 0 mean
    perfectly calibrated; a slope below 1 means over-confident (too extreme) scores."""
    clipped = np.clip(p, _EPS, 1 - _EPS)
    logit = np.log(clipped / (1 - clipped)).reshape(-1, 1)
    fit = LogisticRegression(C=np.inf, max_iter=1000).fit(logit, y)
    return float(fit.coef_[0][0]), float(fit.intercept_[0])


def calibration_bins(y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS) -> list[dict]:
    """Equal-count bins of the sorted scores: mean predicted against observed rate, the points
    of a calibration plot. Equal counts (not equal widths) because calibrated scores crowd
    near zero: fixed 0.1-wide bins would leave the upper ones nearly empty."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    if not len(p):
        return []
    order = np.argsort(p, kind="stable")
    return [
        {
            "mean_predicted": round(float(p[part].mean()), 4),
            "observed_rate": round(float(y[part].mean()), 4),
            "n": len(part),
        }
        for part in np.array_split(order, min(bins, len(p)))
    ]


def score_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    result = {
        "n": len(y),
        "observed_rate": round(float(y.mean()), 4) if len(y) else None,
        "mean_predicted": round(float(p.mean()), 4) if len(p) else None,
        "calibration_bins": calibration_bins(y, p),
    }
    if len(np.unique(y)) < 2:
        return result
    slope, intercept = calibration_slope_intercept(y, p)
    result.update(
        auc=round(float(roc_auc_score(y, p)), 4),
        brier=round(float(brier_score_loss(y, p)), 5),
        calibration_slope=round(slope, 4),
        calibration_intercept=round(intercept, 4),
    )
    return result


def group_metrics(y: np.ndarray, p: np.ndarray, groups: np.ndarray) -> dict[str, dict]:
    """score_metrics per group value, for groups large enough to say something."""
    result = {}
    for value in sorted(set(groups.tolist()), key=str):
        mask = groups == value
        if mask.sum() >= MIN_GROUP_SIZE:
            result[str(value)] = score_metrics(y[mask], p[mask])
    return result
