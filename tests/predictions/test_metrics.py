"""The stored held-out metrics: calibration points for the model card's plot."""

import numpy as np
import pytest

from predictions.metrics import CALIBRATION_BINS, calibration_bins, score_metrics


def test_calibration_bins_are_equal_count_bins_of_the_sorted_scores():
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 1, 1003)
    y = (rng.uniform(size=1003) < p).astype(int)
    bins = calibration_bins(y, p)
    assert len(bins) == CALIBRATION_BINS
    assert sum(b["n"] for b in bins) == 1003
    assert max(b["n"] for b in bins) - min(b["n"] for b in bins) <= 1
    order = np.argsort(p, kind="stable")
    first = order[: bins[0]["n"]]
    assert bins[0]["mean_predicted"] == pytest.approx(p[first].mean(), abs=1e-4)
    assert bins[0]["observed_rate"] == pytest.approx(y[first].mean(), abs=1e-4)
    means = [b["mean_predicted"] for b in bins]
    assert means == sorted(means)


def test_score_metrics_keep_their_keys_and_add_the_bins():
    rng = np.random.default_rng(4)
    p = rng.uniform(0, 1, 400)
    y = (rng.uniform(size=400) < p).astype(int)
    metrics = score_metrics(y, p)
    assert {"n", "observed_rate", "mean_predicted", "auc", "brier", "calibration_slope",
            "calibration_intercept"} <= set(metrics)  # fmt: skip
    assert metrics["calibration_bins"] == calibration_bins(y, p)
    # Fewer patients than bins: one bin each; none at all: no bins.
    assert [b["n"] for b in calibration_bins(np.array([0, 1, 1]), np.array([0.2, 0.9, 0.5]))] == [
        1,
        1,
        1,
    ]
    assert score_metrics(np.array([], dtype=int), np.array([]))["calibration_bins"] == []
