"""On the generator's held-out data (fixed seed), each window's model comes within 3% of the
ground truth's AUC and is calibrated (slope 0.8-1.2). The same figures are printed by
train_models and stored with the version."""

import pytest

from patients.cohort import cohort_generate
from predictions.training import models_train


@pytest.fixture(scope="module")
def outcome():
    frame = cohort_generate(patients=20000, seed=42 + 1_000_003, id_prefix="TRN")
    return models_train(frame=frame, seed=42)


@pytest.mark.parametrize("window", ["30_day", "60_day", "90_day"])
def test_model_is_near_the_best_achievable_and_calibrated(outcome, window):
    metrics = outcome.metrics["windows"][window]
    assert metrics["auc"] >= 0.97 * metrics["truth_auc"], metrics
    assert 0.8 <= metrics["calibration_slope"] <= 1.2, metrics
    assert abs(metrics["mean_predicted"] - metrics["observed_rate"]) < 0.02, metrics


def test_group_metrics_are_recorded(outcome):
    by_race = outcome.metrics["windows"]["90_day"]["by_race"]
    assert {"White", "Black", "Hispanic"} <= set(by_race)
    assert all("auc" in group and "calibration_slope" in group for group in by_race.values())
    assert set(outcome.metrics["windows"]["30_day"]["by_gender"]) == {"F", "M"}
