"""The demo load (riskplatform/demo.py `demo_bootstrap`), on a small cohort."""

import pandas as pd
import pytest

from predictions.models import ModelVersion, TrainingSnapshot
from predictions.snapshot_selectors import training_snapshot_frame
from predictions.training import training_frame_read
from riskplatform.demo import DEMO_VERSION, demo_bootstrap


@pytest.mark.django_db
def test_the_demo_trains_v1_0_on_its_registered_training_snapshot(reference_data, tmp_path):
    from predictions.model_store import model_cache_clear

    model_cache_clear()
    messages = []
    load = {"out_dir": tmp_path, "changed_by": "demo", "patients": 300,
            "training_patients": 2500, "seed": 8, "progress": messages.append}  # fmt: skip
    counts = demo_bootstrap(**load)

    assert counts.patients == 300
    snapshot = TrainingSnapshot.objects.get()
    v10 = ModelVersion.objects.get(version=DEMO_VERSION)
    assert v10.training_fingerprint == snapshot.fingerprint
    assert (snapshot.row_count, snapshot.label) == (2500, "demo training sample (seed 8)")
    # What re-evaluation will train on is exactly the file the demo generated.
    pd.testing.assert_frame_equal(
        training_snapshot_frame(snapshot=snapshot),
        training_frame_read(tmp_path / "training.csv"),
        check_exact=True,
    )
    assert f"Registered training.csv as training snapshot {snapshot.pk}" in messages
    demo_bootstrap(**load)  # again (after a failure, say): the same snapshot, no new one
    assert TrainingSnapshot.objects.get() == snapshot
