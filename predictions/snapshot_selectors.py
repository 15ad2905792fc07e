"""Reads of the registered training snapshots (written by `training_snapshot_register`)."""

import pandas as pd

from predictions.models import ModelVersion, TrainingSnapshot
from predictions.training import training_data_decode, training_fingerprint


class NoTrainingSnapshot(LookupError):
    pass


class TrainingSnapshotIntegrityError(Exception):
    """A snapshot's content no longer gives the data its fingerprint names."""


def training_snapshot_latest() -> TrainingSnapshot | None:
    """The most recently registered snapshot (registering old data again adds none)."""
    return TrainingSnapshot.objects.order_by("-created_at", "-snapshot_id").first()


def training_snapshot_get(*, snapshot_id: int | None = None) -> TrainingSnapshot:
    """The given snapshot, or the latest; when there is none, says how to register one."""
    snapshot = (
        training_snapshot_latest()
        if snapshot_id is None
        else TrainingSnapshot.objects.filter(pk=snapshot_id).first()
    )
    if snapshot is None:
        which = "is registered" if snapshot_id is None else f"has id {snapshot_id}"
        raise NoTrainingSnapshot(
            f"no training snapshot {which}: register the labelled training data once with "
            "`manage.py training_data_register FILE [--label L]` (or `train_models --data "
            "FILE`); every worker then reads it from PostgreSQL"
        )
    return snapshot


def training_snapshot_of(*, version: ModelVersion) -> TrainingSnapshot | None:
    """The snapshot a version was trained on (None for one registered from elsewhere)."""
    if not version.training_fingerprint:
        return None
    return TrainingSnapshot.objects.filter(fingerprint=version.training_fingerprint).first()


def training_snapshot_frame(*, snapshot: TrainingSnapshot) -> pd.DataFrame:
    """Exactly the frame `training_frame_read` gave for the registered file, checked
    against the fingerprint (as a model artifact is against its sha256)."""
    content = TrainingSnapshot.objects.values_list("content", flat=True).get(pk=snapshot.pk)
    frame = training_data_decode(bytes(content), name=snapshot.label)
    if training_fingerprint(frame) != snapshot.fingerprint:
        raise TrainingSnapshotIntegrityError(
            f"training snapshot {snapshot.pk} does not match its fingerprint {snapshot.fingerprint}"
        )
    return frame


def training_snapshot_summary(snapshot: TrainingSnapshot) -> list[str]:
    """The lines commands print about a snapshot."""
    prevalence = ", ".join(f"{w} {share:.4f}" for w, share in snapshot.prevalence.items())
    registered = snapshot.created_at.strftime("%Y-%m-%d %H:%M %Z")
    return [
        f"Training snapshot {snapshot.pk} ({snapshot.label}): {snapshot.row_count} rows, "
        f"{len(snapshot.columns)} columns, registered {registered} by {snapshot.created_by}",
        f"  fingerprint {snapshot.fingerprint}",
        f"  prevalence  {prevalence}",
    ]
