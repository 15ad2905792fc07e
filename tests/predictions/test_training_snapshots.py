"""Training data as registered snapshots in PostgreSQL (predictions/services.py
`training_snapshot_register`, predictions/snapshot_selectors.py), read by re-evaluation on
any worker host instead of a file."""

import pandas as pd
import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, transaction

from patients.cohort import cohort_write
from predictions.models import ModelVersion, TrainingSnapshot
from predictions.reevaluation import model_reevaluate
from predictions.scoring_runs import population_score, scoring_run_create
from predictions.services import model_version_train, training_snapshot_register
from predictions.snapshot_selectors import (
    NoTrainingSnapshot,
    TrainingSnapshotIntegrityError,
    training_snapshot_frame,
    training_snapshot_get,
    training_snapshot_latest,
)
from predictions.training import training_fingerprint, training_frame_read
from riskplatform.core.models import AuditEvent, AuditLog
from tests.db_roles import owner_connect
from tests.factories import ModelVersionFactory, TrainingSnapshotFactory
from tests.predictions.toy_data import toy_training_frame

pytestmark = pytest.mark.django_db


def _registered_events():
    return AuditLog.objects.filter(event_type=AuditEvent.TRAINING_DATA_REGISTERED)


@pytest.fixture
def toy_csv(tmp_path):
    path = tmp_path / "toy_training.csv"
    toy_training_frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def cohort_training(tmp_path_factory):
    """The demo generator's training file: strings, floats, empty department codes."""
    files = cohort_write(
        out_dir=tmp_path_factory.mktemp("snapshot"), patients=50, seed=3, training_patients=800
    )
    return files.training


def test_registering_the_same_data_twice_returns_the_existing_snapshot(toy_csv):
    first = training_snapshot_register(path=toy_csv, label="toy", changed_by="cli:ana")
    again = training_snapshot_register(path=toy_csv, label="toy again", changed_by="cli:bo")
    # The same rows as a frame are the same data.
    as_frame = training_snapshot_register(frame=toy_training_frame(), changed_by="test")
    assert again.pk == first.pk == as_frame.pk
    assert TrainingSnapshot.objects.count() == 1
    frame = training_frame_read(toy_csv)
    snapshot = TrainingSnapshot.objects.get()
    assert (snapshot.label, snapshot.created_by, snapshot.row_count) == ("toy", "cli:ana", 1500)
    assert snapshot.columns == list(frame.columns)
    assert snapshot.fingerprint == training_fingerprint(frame)
    assert snapshot.prevalence == {
        "30_day": round(frame["admitted_30d"].mean(), 4),
        "60_day": round(frame["admitted_60d"].mean(), 4),
        "90_day": round(frame["admitted_90d"].mean(), 4),
    }
    event = _registered_events().get()
    assert (event.entity_type, event.entity_id, event.changed_by) == (
        "TRAINING_SNAPSHOT", first.pk, "cli:ana",
    )  # fmt: skip
    assert event.new_values["fingerprint"] == snapshot.fingerprint
    assert event.new_values["rows"] == 1500


def test_the_frame_round_trips_exactly(cohort_training):
    snapshot = training_snapshot_register(path=cohort_training, changed_by="test")
    # Deferred like a model artifact: listing snapshots does not fetch megabytes.
    assert TrainingSnapshot.objects.get().get_deferred_fields() == {"content"}
    expected = training_frame_read(cohort_training)
    frame = training_snapshot_frame(snapshot=snapshot)
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    assert list(frame.dtypes) == list(expected.dtypes)
    assert expected.isna().any().any()  # missing values survive too
    assert training_fingerprint(frame) == training_fingerprint(expected) == snapshot.fingerprint
    stored = bytes(TrainingSnapshot.objects.values_list("content", flat=True).get())
    assert len(stored) < cohort_training.stat().st_size / 2  # compressed


def test_a_bad_file_is_refused_with_the_readers_error_and_nothing_is_written(tmp_path):
    bad = tmp_path / "no_labels.csv"
    toy_training_frame().drop(columns=["admitted_60d"]).to_csv(bad, index=False)
    with pytest.raises(ValueError) as reader:
        training_frame_read(bad)
    with pytest.raises(ValueError) as refused:
        training_snapshot_register(path=bad, changed_by="test")
    assert (
        str(refused.value)
        == str(reader.value)
        == ("no_labels.csv lacks required columns: admitted_60d")
    )
    with pytest.raises(CommandError, match="lacks required columns: admitted_60d"):
        call_command("training_data_register", str(bad))
    empty = tmp_path / "empty.csv"
    toy_training_frame().head(0).to_csv(empty, index=False)
    with pytest.raises(ValueError, match=r"empty\.csv has no rows"):
        training_snapshot_register(path=empty, changed_by="test")
    with pytest.raises(FileNotFoundError):
        training_snapshot_register(path=tmp_path / "missing.csv", changed_by="test")
    assert not TrainingSnapshot.objects.exists()
    assert not _registered_events().exists()


def test_a_frame_that_a_csv_would_change_is_refused():
    frame = toy_training_frame(n=50)
    frame["frailty_score"] = frame["frailty_score"].astype("float32")  # read back as float64
    with pytest.raises(ValueError, match="does not read back exactly"):
        training_snapshot_register(frame=frame, label="float32", changed_by="test")
    assert not TrainingSnapshot.objects.exists()


def test_snapshots_are_immutable_and_checked_against_their_fingerprint(toy_csv):
    snapshot = training_snapshot_register(path=toy_csv, changed_by="test")
    # The application's role has no UPDATE on it; the trigger refuses the owner too.
    with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
        TrainingSnapshot.objects.filter(pk=snapshot.pk).update(label="changed")
    with owner_connect() as owner, pytest.raises(psycopg.Error, match="immutable"):
        owner.execute("UPDATE training_snapshots SET label = 'changed'")
    # Another frame's fingerprint over this snapshot's content.
    content = TrainingSnapshot.objects.values_list("content", flat=True).get(pk=snapshot.pk)
    forged = TrainingSnapshotFactory(frame=toy_training_frame(n=200, seed=9), content=content)
    assert training_snapshot_frame(snapshot=TrainingSnapshotFactory()).shape == (200, 29)
    with pytest.raises(TrainingSnapshotIntegrityError, match="does not match its fingerprint"):
        training_snapshot_frame(snapshot=forged)


def test_the_command_prints_the_snapshot(toy_csv, capsys):
    call_command("training_data_register", str(toy_csv), "--label", "Q3 extract")
    snapshot = TrainingSnapshot.objects.get()
    out = capsys.readouterr().out
    assert f"Training snapshot {snapshot.pk} (Q3 extract): 1500 rows" in out
    assert f"fingerprint {snapshot.fingerprint}" in out
    assert f"30_day {snapshot.prevalence['30_day']:.4f}" in out
    call_command("training_data_register", str(toy_csv))  # again: the same snapshot
    assert f"Training snapshot {snapshot.pk} (Q3 extract)" in capsys.readouterr().out
    assert TrainingSnapshot.objects.count() == 1


def test_train_models_registers_the_file_and_trains_on_the_snapshot(toy_csv, capsys):
    call_command("train_models", "--version", "v3.0", "--data", str(toy_csv), "--max-iter", "30")
    snapshot = TrainingSnapshot.objects.get()
    version = ModelVersion.objects.get(version="v3.0")
    assert version.training_fingerprint == snapshot.fingerprint
    assert f"training snapshot {snapshot.pk} (toy_training.csv" in version.notes
    assert f"Training snapshot {snapshot.pk}" in capsys.readouterr().out
    toy_csv.unlink()
    call_command("train_models", "--version", "v3.1", "--snapshot", str(snapshot.pk),
                 "--max-iter", "30")  # fmt: skip
    assert ModelVersion.objects.get(version="v3.1").training_fingerprint == snapshot.fingerprint
    with pytest.raises(CommandError, match="no training snapshot has id 999"):
        call_command("train_models", "--version", "v3.2", "--snapshot", "999")


def test_reevaluation_needs_a_snapshot_and_says_how_to_register_one(active_version):
    assert training_snapshot_latest() is None
    with pytest.raises(NoTrainingSnapshot, match=r"manage\.py training_data_register FILE"):
        model_reevaluate(changed_by="celery:reevaluate")
    snapshot = TrainingSnapshotFactory()
    assert training_snapshot_get(snapshot_id=snapshot.pk) == snapshot
    with pytest.raises(NoTrainingSnapshot, match="no training snapshot has id 999"):
        model_reevaluate(changed_by="celery:reevaluate", snapshot_id=999)
    assert list(ModelVersion.objects.values_list("version", flat=True)) == ["v1.0"]


def test_reevaluation_on_a_worker_trains_on_the_latest_snapshot_without_any_file(
    active_version, patients_with_features, toy_csv, tmp_path
):
    older = training_snapshot_register(
        frame=toy_training_frame(n=600, seed=11), label="older", changed_by="test"
    )
    latest = training_snapshot_register(path=toy_csv, changed_by="test")
    toy_csv.unlink()  # the worker's host has no training file
    assert not any(tmp_path.iterdir())
    assert not hasattr(settings, "MODEL_TRAINING_DATA")
    assert training_snapshot_get() == latest != older

    population_score(run_id=scoring_run_create(version="v1.0", changed_by="test").pk)

    comparison = model_reevaluate(changed_by="celery:reevaluate")

    candidate = ModelVersion.objects.get(version=comparison.candidate_id)
    assert (comparison.baseline_id, candidate.version, candidate.status) == (
        "v1.0", "v1.1", "candidate",
    )  # fmt: skip
    assert candidate.training_fingerprint == latest.fingerprint
    assert comparison.summary["windows"]["30_day"]["patients"] == 25


def test_model_version_train_takes_a_snapshot_or_a_file(toy_csv):
    with pytest.raises(ValueError, match="one of them"):
        model_version_train(version="v9.0", changed_by="test")
    snapshot = training_snapshot_register(path=toy_csv, changed_by="test")
    with pytest.raises(ValueError, match="one of them"):
        model_version_train(
            version="v9.0", snapshot=snapshot, training_path=toy_csv, changed_by="test"
        )
    assert not ModelVersion.objects.exists()


def test_the_admin_lists_snapshots_read_only(admin_client, toy_csv):
    from django.urls import reverse

    snapshot = training_snapshot_register(path=toy_csv, label="Q3 extract", changed_by="cli:ana")
    ModelVersionFactory(version="v4.0", training_fingerprint=snapshot.fingerprint)
    listing = admin_client.get(reverse("admin:predictions_trainingsnapshot_changelist"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "Q3 extract" in html and snapshot.fingerprint[:12] in html and "cli:ana" in html
    assert f"30_day {snapshot.prevalence['30_day']:.2%}" in html
    page = admin_client.get(
        reverse("admin:predictions_trainingsnapshot_change", args=[snapshot.pk])
    )
    assert page.status_code == 200
    assert "v4.0" in page.content.decode()  # the versions trained on it
    assert "content" not in page.context["adminform"].form.fields
    assert not page.context["has_change_permission"]
    assert admin_client.get(reverse("admin:predictions_trainingsnapshot_add")).status_code == 403
