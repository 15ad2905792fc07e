import numpy as np
import skops.io as sio
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier

from predictions.calibrated import CalibratedBooster
from predictions.model_store import bundle_deserialise


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1200, 6))
    y = (x[:, 0] + rng.normal(size=1200) > 1).astype(int)
    return x, y


def test_same_probabilities_as_scikit_learns_calibrated_classifier():
    x, y = _data()
    booster = HistGradientBoostingClassifier(max_iter=30, random_state=3)
    reference = CalibratedClassifierCV(booster, method="isotonic", cv=3, ensemble=False)
    ours = CalibratedBooster(booster, folds=3).fit(x, y)
    np.testing.assert_array_equal(ours.predict_proba(x), reference.fit(x, y).predict_proba(x))


def test_round_trips_through_a_trusted_artifact():
    x, y = _data()
    model = CalibratedBooster(HistGradientBoostingClassifier(max_iter=10)).fit(x, y)
    loaded = bundle_deserialise(sio.dumps(model))
    np.testing.assert_array_equal(loaded.predict_proba(x[:5]), model.predict_proba(x[:5]))
