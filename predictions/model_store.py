"""Model artifacts: serialised with skops (not pickle), stored in PostgreSQL with their
sha256, verified on every load, cached per process by (version, sha256).

A bundle is {"contract_version": int, "models": {"30_day": estimator, ...}} and, for models
trained here, "categories": the shared one-hot encoding (`CategoryEncoding`). Without it each
estimator takes a DataFrame of the feature contract's columns (models registered from
elsewhere); with it, the encoded matrix. Either way it answers `predict_proba`.
"""

import hashlib
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd
import skops.io as sio

from predictions.features import CategoryEncoding
from predictions.models import ModelVersion
from riskplatform.core.windows import DAYS_IN_WINDOW

# Types a bundle may contain beyond skops' defaults: scikit-learn's own and our calibrated
# booster. Anything else (arbitrary classes, functions) is refused rather than executed.
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "predictions.calibrated.")
WINDOWS = tuple(DAYS_IN_WINDOW)


class ModelIntegrityError(Exception):
    """The stored artifact does not match its registry hash, or holds untrusted code."""


@dataclass(frozen=True)
class ModelBundle:
    version: str
    sha256: str
    contract_version: int
    models: dict
    encoding: CategoryEncoding | None = None

    def predict_risks(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        return predict_risks(self.models, frame, self.encoding)


def predict_risks(
    models: dict, frame: pd.DataFrame, encoding: CategoryEncoding | None = None
) -> dict[str, np.ndarray]:
    """Probability of admission per window, made non-decreasing in the window.

    An admission within 30 days is also one within 60 and 90, so risk_30 <= risk_60 <=
    risk_90 must hold; separately trained models can break it by noise, so each window takes
    the running maximum over the shorter ones.
    """
    inputs = encoding.transform(frame) if encoding else frame
    risks: dict[str, np.ndarray] = {}
    running = np.zeros(len(frame))
    for window in WINDOWS:
        running = np.maximum(running, models[window].predict_proba(inputs)[:, 1])
        risks[window] = running
    return risks


def bundle_serialise(
    models: dict, contract_version: int, encoding: CategoryEncoding | None = None
) -> tuple[bytes, str]:
    content = {
        "contract_version": int(contract_version),
        "models": {str(window): model for window, model in models.items()},
    }
    if encoding:
        content["categories"] = encoding.categories
    data = sio.dumps(content)
    return data, hashlib.sha256(data).hexdigest()


def bundle_deserialise(data: bytes) -> dict:
    untrusted = sio.get_untrusted_types(data=data)
    refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if refused:
        raise ModelIntegrityError(f"artifact contains untrusted types: {', '.join(refused)}")
    return sio.loads(data, trusted=untrusted)


_cache: dict[tuple[str, str], ModelBundle] = {}
_lock = threading.Lock()


def model_bundle_load(version: str, sha256: str | None = None) -> ModelBundle:
    """The verified bundle of a registered version (pass the registry's sha256 when it is
    at hand, to spare a query). Raises ModelIntegrityError when the stored bytes do not hash
    to the registry's sha256."""
    if sha256 is None:
        sha256 = ModelVersion.objects.values_list("artifact_sha256", flat=True).get(version=version)
    key = (version, sha256)
    with _lock:
        if key in _cache:
            return _cache[key]
    artifact = bytes(ModelVersion.objects.values_list("artifact", flat=True).get(version=version))
    actual = hashlib.sha256(artifact).hexdigest()
    if actual != sha256:
        raise ModelIntegrityError(
            f"model {version}: stored artifact hashes to {actual[:12]}…, registry says "
            f"{sha256[:12]}…; refusing to load it"
        )
    content = bundle_deserialise(artifact)
    categories = content.get("categories")
    bundle = ModelBundle(
        version, sha256, content["contract_version"], content["models"],
        CategoryEncoding(categories) if categories else None,
    )  # fmt: skip
    with _lock:
        _cache[key] = bundle
    return bundle


def model_cache_clear() -> None:
    with _lock:
        _cache.clear()
