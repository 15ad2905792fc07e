import numpy as np
import pandas as pd
import pytest

from predictions.features import CategoryEncoding, feature_frame, frame_prepare
from predictions.model_store import model_bundle_load

pytestmark = pytest.mark.django_db


def test_encoding_one_hots_categories_and_keeps_the_rest():
    encoding = CategoryEncoding({"gender": ["F", "M"], "race": ["Black", "White"]})
    frame = pd.DataFrame(
        {"age": [70.0, 81.0], "gender": ["M", "Other"], "race": ["White", "Black"], "x": [1.0, 0.0]}
    )
    matrix = encoding.transform(frame)
    # gender=F, gender=M, race=Black, race=White, age, x; an unseen label is all zeros.
    assert matrix.tolist() == [[0, 1, 0, 1, 70, 1], [0, 0, 1, 0, 81, 0]]


def test_frame_prepare_types_every_source_alike():
    from_file = pd.DataFrame({"is_elderly": ["true"], "age": ["72"], "gender": ["F"]})
    from_db = pd.DataFrame({"is_elderly": [True], "age": [72.0], "gender": ["F"]})
    a, b = (frame_prepare(f.reindex(columns=_contract_columns(f))) for f in (from_file, from_db))
    pd.testing.assert_frame_equal(a, b)


def _contract_columns(frame):
    from patients.feature_contract import feature_names

    for name in feature_names():
        if name not in frame:
            frame[name] = "White" if name == "race" else 0
    return feature_names()


def test_one_patient_scores_as_in_a_batch(active_version, patients_with_features):
    bundle = model_bundle_load("v1.0")
    ids = [p.pk for p in patients_with_features]
    batch = bundle.predict_risks(feature_frame(ids))
    for position in (0, 7, 24):
        single = bundle.predict_risks(feature_frame([ids[position]]))
        for window, risks in batch.items():
            assert np.isclose(single[window][0], risks[position])
