"""A gradient-boosted classifier with isotonic calibration, fitted as scikit-learn's
`CalibratedClassifierCV(booster, method="isotonic", cv=3, ensemble=False)` fits it (the
booster on all rows, the calibrator on 3-fold out-of-fold scores), but answering
`predict_proba` in one booster pass and one interpolation: the wrapper's validation layers
cost more than the trees when one patient is scored (docs/realtime.md)."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict


class CalibratedBooster(ClassifierMixin, BaseEstimator):
    def __init__(self, booster=None, folds: int = 3):
        self.booster = booster
        self.folds = folds

    def fit(self, X, y):
        y = np.asarray(y)
        scores = cross_val_predict(
            clone(self.booster), X, y, cv=StratifiedKFold(self.folds), method="decision_function"
        )
        self.calibrator_ = IsotonicRegression(out_of_bounds="clip").fit(scores, y)
        self.booster_ = clone(self.booster).fit(X, y)
        self.classes_ = self.booster_.classes_
        return self

    def predict_proba(self, X) -> np.ndarray:
        positive = self.calibrator_.predict(self.booster_.decision_function(X))
        return np.column_stack([1 - positive, positive])

    def predict(self, X) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]
