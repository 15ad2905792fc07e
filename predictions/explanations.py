"""Why is a patient's risk high? For each feature, how much the model's risk falls when
that one feature is set to a typical patient's value (the version's reference profile) and
everything else stays: features whose typical value lowers the risk most are the ones that
raise this patient's risk. Exact for the model in use, model-agnostic, and one batched
predict for a whole page (docs/workspace.md)."""

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from patients.feature_contract import Kind, features
from patients.feature_phrases import feature_phrase, risk_points
from patients.visibility import age_band
from predictions.features import feature_frame, frame_prepare
from predictions.model_store import model_bundle_load
from predictions.models import ModelVersion

MIN_EFFECT = 0.005  # smaller changes in risk are not worth a coordinator's attention
SAMPLE_FOR_PROFILE = 5000


@dataclass(frozen=True)
class Driver:
    feature: str
    value: object  # the patient's, as the reader may see it (an analyst gets an age band)
    typical: object
    effect: float  # risk with the patient's value minus risk with the typical value

    @property
    def reason(self) -> str:
        """ "admissions in the last year: 5 (typical 0)"""
        return feature_phrase(self.feature, self.value, self.typical)

    @property
    def effect_text(self) -> str:
        return risk_points(self.effect)


def profile_from_frame(frame: pd.DataFrame) -> dict:
    """The typical patient: the median of each numeric feature, the most common label."""
    return {
        name: (
            float(column.median())
            if pd.api.types.is_numeric_dtype(column)
            else str(column.mode().iloc[0])
        )
        for name, column in frame.items()
    }


_profiles: dict[str, dict] = {}
_lock = threading.Lock()


def reference_profile(version: ModelVersion) -> dict:
    """Stored at training; for versions registered from elsewhere, taken once per process
    from a sample of the scored population."""
    stored = (version.metrics or {}).get("reference_profile")
    if stored:
        return stored
    with _lock:
        if version.version not in _profiles:
            from patients.models import Patient

            ids = list(
                Patient.objects.filter(is_active=True)
                .order_by("?")
                .values_list("patient_id", flat=True)[:SAMPLE_FOR_PROFILE]
            )
            _profiles[version.version] = profile_from_frame(feature_frame(ids))
        return _profiles[version.version]


def risk_drivers(
    *,
    version: ModelVersion,
    patient_ids: list[int],
    windows: Sequence[str],
    exact_age: bool,
    top: int = 3,
) -> dict[str, dict[int, list[Driver]]]:
    """Per window, the `top` features that most raise each patient's risk (one prediction
    of the variants serves every window). Without `exact_age` (analysts), an age driver
    names the patient's ten-year band, never the age itself."""
    if not patient_ids:
        return {window: {} for window in windows}
    bundle = model_bundle_load(version.version, version.artifact_sha256)
    frame = feature_frame(patient_ids, bundle.contract_version)
    contract = features(bundle.contract_version)
    profile = reference_profile(version)
    width = len(contract) + 1
    # Per patient: the row as it is, then one row per feature with only that feature typical.
    block = np.repeat(frame.to_numpy(dtype=object), width, axis=0)
    for j, feature in enumerate(contract):
        block[j + 1 :: width, j] = profile[feature.name]
    variants = frame_prepare(pd.DataFrame(block, columns=frame.columns), bundle.contract_version)
    risks = bundle.predict_risks(variants)
    drivers: dict[str, dict[int, list[Driver]]] = {}
    for window in windows:
        by_window = risks[window].reshape(len(frame), width)
        effects = by_window[:, :1] - by_window[:, 1:]
        drivers[window] = {
            patient_id: [
                Driver(
                    feature=contract[j].name,
                    value=_shown(contract[j], frame.iat[i, j], exact_age),
                    typical=_shown(contract[j], profile[contract[j].name], exact_age),
                    effect=round(float(effects[i, j]), 4),
                )
                for j in np.argsort(-effects[i])[:top]
                if effects[i, j] >= MIN_EFFECT
            ]
            for i, patient_id in enumerate(frame.index.tolist())
        }
    return drivers


def _shown(feature, value, exact_age: bool) -> object:
    if feature.kind == Kind.CATEGORY:
        return str(value)
    if feature.name == "age" and not exact_age:
        return age_band(round(float(value)))
    return round(float(value), 2)
