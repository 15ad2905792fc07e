"""Drift before outcomes exist: PSI of each feature of the scored population, and of each
window's scores, against what training stored; a feature shifted on purpose is flagged and
the others are not."""

import numpy as np
import pytest
from django.urls import reverse

from patients.feature_contract import feature_names
from patients.services import user_role_assign
from predictions.features import frame_prepare
from predictions.monitoring import (
    OTHER,
    Thresholds,
    column_counts,
    drift_reference_build,
    feature_drift,
    psi,
)
from predictions.monitoring_services import model_version_monitor
from riskplatform.core.roles import Role
from tests.factories import ModelVersionFactory
from tests.monitoring_factories import population_from_frame
from tests.predictions.toy_data import toy_training_frame

SHIFTED = "frailty_score"


def _reference(n: int = 1500) -> dict:
    frame = frame_prepare(toy_training_frame(n=n, seed=7)[feature_names()])
    return drift_reference_build(frame, {"30_day": np.linspace(0, 1, n)})


def _drift(reference: dict, frame) -> dict:
    prepared = frame_prepare(frame[feature_names()])
    counts = {name: column_counts(ref, prepared[name])
              for name, ref in reference["features"].items()}  # fmt: skip
    return feature_drift(reference, counts, Thresholds())


def test_psi_is_zero_for_identical_shares_and_grows_with_the_shift():
    assert psi([0.5, 0.5], [50, 50]) == 0.0
    assert psi([0.5, 0.5], [60, 40]) == pytest.approx(0.1 * np.log(0.6 / 0.4))
    # An empty bin on one side is floored, not infinite.
    assert np.isfinite(psi([1.0, 0.0], [0, 10]))


def test_the_shifted_feature_is_flagged_and_no_other():
    reference = _reference()
    current = toy_training_frame(n=1500, seed=11)
    current[SHIFTED] = current[SHIFTED] + 0.4
    drift = _drift(reference, current)
    by_name = {row["feature"]: row for row in drift["features"]}
    assert set(by_name) == set(feature_names())
    assert by_name[SHIFTED]["level"] == "major" and by_name[SHIFTED]["psi"] > 0.25
    assert drift["top"] == [SHIFTED]
    assert all(row["psi"] < 0.1 for name, row in by_name.items() if name != SHIFTED), by_name


def test_kinds_of_bins_and_unknown_labels():
    reference = _reference()
    kinds = {name: ref["kind"] for name, ref in reference["features"].items()}
    assert (kinds["race"], kinds["has_chf"], kinds["age"]) == ("category", "discrete", "binned")
    assert sum(reference["features"]["age"]["shares"]) == pytest.approx(1.0)
    current = toy_training_frame(n=500, seed=3)
    current["race"] = "Unrecorded"  # a label training never saw
    counts = column_counts(reference["features"]["race"], frame_prepare(current)["race"])
    assert counts[OTHER] == 500
    assert _drift(reference, current)["top"] == ["race"]


def test_training_stores_the_reference(toy_models):
    stored = toy_models.metrics["drift_reference"]
    assert set(stored["features"]) == set(feature_names())
    assert set(stored["scores"]) == {"30_day", "60_day", "90_day"}
    assert stored["features"]["age"]["n"] == toy_models.metrics["holdout"]["train_n"]


@pytest.fixture
def drifted_population(db, toy_models):
    version = ModelVersionFactory(version="v1.0", status="active", metrics=toy_models.metrics)
    frame = toy_training_frame(n=800, seed=11)
    frame[SHIFTED] = frame[SHIFTED] + 0.4
    rng = np.random.default_rng(5)
    scores = {
        w: rng.choice(toy_models.holdout_risks[w], len(frame)) for w in toy_models.holdout_risks
    }
    scores["60_day"] = scores["60_day"] + 0.3  # the 60-day scores drift too
    population_from_frame(frame, version=version, scores=scores)
    return version


@pytest.mark.django_db
def test_monitoring_names_the_drifting_feature_and_window(drifted_population, client,
                                                          django_user_model):  # fmt: skip
    run = model_version_monitor(version="v1.0", changed_by="test")
    drift = run.results["drift"]
    assert drift["available"] and drift["population"] == 800
    assert drift["top"] == [SHIFTED]
    levels = {row["feature"]: row["level"] for row in drift["features"]}
    assert levels.pop(SHIFTED) == "major" and set(levels.values()) == {"stable"}
    assert {w: row["level"] for w, row in drift["scores"].items()} == {
        "30_day": "stable", "60_day": "major", "90_day": "stable"}  # fmt: skip
    assert [(w["kind"], w.get("feature") or w.get("window")) for w in run.warnings] == [
        ("feature_drift", SHIFTED), ("score_drift", "60_day")]  # fmt: skip
    assert run.results["observed"] == {"outcomes": 0, "windows": {}}

    django_user_model.objects.create_user(username="ana", password="not-used-here")
    user_role_assign(username="ana", role=Role.ANALYST, department_codes=[], changed_by="test")
    client.force_login(django_user_model.objects.get(username="ana"))
    card = client.get(reverse("model-card", args=["v1.0"])).content.decode()
    assert f"Feature {SHIFTED} has drifted from training" in card
    assert f"Top drifting features: <strong>{SHIFTED}</strong>." in card
    assert "No prediction of v1.0 has an outcome yet" in card


@pytest.mark.django_db
def test_too_small_a_population_is_not_judged(drifted_population, settings):
    settings.MONITORING_MIN_POPULATION = 1000
    run = model_version_monitor(version="v1.0", changed_by="test")
    assert run.results["drift"]["available"] is False
    assert "fewer than 1000" in run.results["drift"]["message"] and run.warnings == []
