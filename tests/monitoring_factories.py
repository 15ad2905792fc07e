"""Judged predictions and scored populations built by hand for the monitoring tests (the
outcome service is tested apart): a prediction dated on day d and the outcome of its window
d + 1 .. d + N; patients with features drawn from the toy training frame."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd

from patients.feature_contract import feature_names
from patients.models import DataSource, Department, Patient, PatientFeatures
from predictions.models import Prediction
from riskplatform.core.windows import TIER_LABELS
from tests.factories import PatientFactory, PredictionFactory, tier_for
from tests.outcome_factories import PredictionOutcomeFactory, at_noon


def judged_prediction(*, version, day: dt.date, score: str, admitted: bool, window="30_day",
                      race="White", gender="F"):  # fmt: skip
    """One patient, one prediction made on `day` (noon UTC, the same date in the session's
    time zone) and its outcome."""
    patient = PatientFactory(
        race=race, gender=gender, department=Department.objects.get(department_code="CARDIO")
    )
    prediction = PredictionFactory(
        patient=patient,
        model_version=version,
        prediction_window=window,
        risk_score=Decimal(score),
        prediction_timestamp=at_noon(day),
    )
    return PredictionOutcomeFactory(prediction=prediction, admitted=admitted)


def population_from_frame(frame: pd.DataFrame, *, version, scores: dict[str, np.ndarray]):
    """Active patients with the frame's features (bulk: hundreds of rows) and a current
    prediction per window with the given scores."""
    department = Department.objects.get(department_code="NEPHRO")
    patients = Patient.objects.bulk_create(
        [
            Patient(
                age=int(row.age),
                gender=row.gender,
                race=row.race,
                department=department,
                data_source=DataSource.X_TEST,
                annual_cost=Decimal("1000.00"),
                created_by="test",
            )
            for row in frame.itertuples()
        ]
    )
    patient_columns = {"age", "gender", "race"}
    decimals = {"cost_percentile": 3, "frailty_score": 4, "complexity_index": 4}
    features = []
    for patient, (_, row) in zip(patients, frame.iterrows(), strict=True):
        values = {}
        for name in feature_names():
            if name in patient_columns:
                continue
            value = row[name]
            if name == "is_elderly":
                values[name] = bool(value)
            elif name.startswith("has_") or name in ("recent_admission", "high_outpatient_user",
                                                     "high_cost"):  # fmt: skip
                values[name] = int(value)
            else:
                values[name] = Decimal(str(round(float(value), decimals.get(name, 2))))
        features.append(PatientFeatures(patient=patient, **values))
    PatientFeatures.objects.bulk_create(features)
    predictions = []
    for window, window_scores in scores.items():
        for patient, score in zip(patients, window_scores, strict=True):
            risk = Decimal(f"{min(max(float(score), 0.0), 1.0):.4f}")
            tier = tier_for(risk)
            predictions.append(Prediction(
                patient=patient, prediction_window=window, model_version=version,
                risk_score=risk, risk_tier=tier, tier_label=TIER_LABELS[tier], created_by="test",
            ))  # fmt: skip
    Prediction.objects.bulk_create(predictions)
    return patients
