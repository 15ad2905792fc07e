import logging
from pathlib import Path

import numpy as np
import pandas as pd
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from patients.feature_contract import CURRENT_VERSION
from predictions.features import CategoryEncoding, contract_sample_frame
from predictions.model_store import (
    WINDOWS,
    ModelIntegrityError,
    bundle_serialise,
    model_bundle_load,
)
from predictions.models import (
    UNFINISHED,
    ModelStatus,
    ModelVersion,
    Prediction,
    ScoringRun,
    TrainingSnapshot,
)
from predictions.scoring import NEEDS_SCORE_SQL, patients_score
from predictions.scoring_runs import population_score, scoring_run_create
from predictions.snapshot_selectors import training_snapshot_frame
from predictions.tiers import thresholds_fixed, thresholds_percentile, validate_thresholds
from predictions.training import (
    LABELS,
    models_train,
    training_data_encode,
    training_fingerprint,
)
from riskplatform.core.models import AuditEvent
from riskplatform.core.services import audit_event_record

logger = logging.getLogger(__name__)


class ModelContractError(ValueError):
    """A model does not accept the feature contract or does not return probabilities."""


def models_check_contract(
    *, models: dict, encoding: CategoryEncoding | None, contract_version: int = CURRENT_VERSION
) -> None:
    sample = contract_sample_frame(contract_version)
    inputs = encoding.transform(sample) if encoding else sample
    for window in WINDOWS:
        model = models.get(window)
        if model is None:
            raise ModelContractError(f"no model for {window}")
        if not hasattr(model, "predict_proba"):
            raise ModelContractError(f"{window}: {type(model).__name__} has no predict_proba")
        try:
            probabilities = np.asarray(model.predict_proba(inputs))
        except Exception as exc:  # any failure on contract-shaped input is the finding
            raise ModelContractError(
                f"{window}: model rejects feature contract v{contract_version}: {exc}"
            ) from exc
        if probabilities.shape != (len(sample), 2):
            raise ModelContractError(
                f"{window}: predict_proba returned shape {probabilities.shape}, "
                f"expected ({len(sample)}, 2)"
            )
        if not np.all((probabilities >= 0) & (probabilities <= 1)):
            raise ModelContractError(f"{window}: predict_proba returned values outside 0-1")


@transaction.atomic
def model_version_register(
    *,
    version: str,
    models: dict,
    changed_by: str,
    encoding: CategoryEncoding | None = None,
    tier_thresholds: dict | None = None,
    metrics: dict | None = None,
    training_fingerprint: str | None = None,
    contract_version: int = CURRENT_VERSION,
    notes: str = "",
) -> ModelVersion:
    """Register a candidate version (three window models, and the encoding they share if
    they take encoded input, in one verified artifact)."""
    models_check_contract(models=models, encoding=encoding, contract_version=contract_version)
    thresholds = tier_thresholds or thresholds_fixed()
    validate_thresholds(thresholds)
    artifact, sha256 = bundle_serialise(models, contract_version, encoding)
    return model_version_insert(
        version=version,
        artifact=artifact,
        artifact_sha256=sha256,
        changed_by=changed_by,
        feature_contract_version=contract_version,
        tier_thresholds=thresholds,
        metrics=metrics or {},
        training_fingerprint=training_fingerprint,
        notes=notes,
        audit_values={
            "sha256": sha256,
            "bytes": len(artifact),
            "tier_thresholds": thresholds,
            "auc": {w: metrics["windows"][w].get("auc") for w in WINDOWS} if metrics else None,
        },
    )


def model_version_insert(
    *, version: str, artifact: bytes, changed_by: str, audit_values: dict, **fields
) -> ModelVersion:
    """The registry row of a new candidate and its MODEL_REGISTERED event (in the caller's
    transaction); every way of adding a version comes through here."""
    model_version = ModelVersion.objects.create(
        version=version,
        status=ModelStatus.CANDIDATE,
        created_by=changed_by,
        artifact=artifact,
        **fields,
    )
    audit_event_record(
        event_type=AuditEvent.MODEL_REGISTERED,
        changed_by=changed_by,
        entity_type="MODEL",
        entity_id=model_version.pk,
        model_version=version,
        new_values=audit_values,
    )
    return model_version


@transaction.atomic
def training_snapshot_register(
    *,
    changed_by: str,
    path: Path | None = None,
    frame: pd.DataFrame | None = None,
    label: str = "",
) -> TrainingSnapshot:
    """Store labelled training data (a CSV file, or a frame as its CSV) in PostgreSQL, where
    every worker can read it. The data is checked by `training_frame_read` (same errors,
    nothing written). Idempotent: data already registered returns its snapshot unchanged."""
    if (path is None) == (frame is None):
        raise ValueError("register a path or a frame, one of them")
    label = (label or (path.name if path is not None else "data frame"))[:200]
    data, content = training_data_encode(
        path=path, frame=frame, name=path.name if path is not None else label
    )
    if data.empty:
        raise ValueError(f"{label} has no rows")
    fingerprint = training_fingerprint(data)
    existing = TrainingSnapshot.objects.filter(fingerprint=fingerprint).first()
    if existing is not None:
        return existing
    prevalence = {window: round(float(data[column].mean()), 4) for window, column in LABELS.items()}
    try:
        with transaction.atomic():  # a concurrent registration of the same data wins
            snapshot = TrainingSnapshot.objects.create(
                label=label, fingerprint=fingerprint, row_count=len(data),
                columns=list(data.columns), content=content, prevalence=prevalence,
                created_by=changed_by,
            )  # fmt: skip
    except IntegrityError:
        return TrainingSnapshot.objects.get(fingerprint=fingerprint)
    audit_event_record(
        event_type=AuditEvent.TRAINING_DATA_REGISTERED,
        changed_by=changed_by,
        entity_type="TRAINING_SNAPSHOT",
        entity_id=snapshot.pk,
        new_values={"label": label, "fingerprint": fingerprint, "rows": len(data),
                    "columns": len(data.columns), "bytes": len(content),
                    "prevalence": prevalence},
    )  # fmt: skip
    return snapshot


def model_version_train(
    *,
    version: str,
    changed_by: str,
    snapshot: TrainingSnapshot | None = None,
    training_path: Path | None = None,
    seed: int = 0,
    tier_mode: str = "fixed",
    max_iter: int = 300,
) -> ModelVersion:
    """Train, evaluate on a held-out split and register a candidate version, on a training
    snapshot; a file (`training_path`) is registered as one first, so that every trained
    version's data is in PostgreSQL under its `training_fingerprint`."""
    if (snapshot is None) == (training_path is None):
        raise ValueError("train on a snapshot or on a file, one of them")
    if ModelVersion.objects.filter(version=version).exists():
        raise ValueError(f"model version {version} already exists")
    if snapshot is None:
        snapshot = training_snapshot_register(path=training_path, changed_by=changed_by)
    frame = training_snapshot_frame(snapshot=snapshot)
    outcome = models_train(frame=frame, seed=seed, max_iter=max_iter)
    thresholds = (
        thresholds_percentile(outcome.holdout_risks)
        if tier_mode == "percentile"
        else thresholds_fixed()
    )
    return model_version_register(
        version=version,
        models=outcome.models,
        encoding=outcome.encoding,
        changed_by=changed_by,
        tier_thresholds=thresholds,
        metrics=outcome.metrics,
        training_fingerprint=outcome.fingerprint,
        notes=(
            f"Trained on training snapshot {snapshot.pk} ({snapshot.label}, {len(frame)} rows), "
            f"seed {seed}."
        ),
    )


@transaction.atomic
def model_version_activate(*, version: str, changed_by: str) -> ModelVersion:
    """Make `version` the active one; the previous active version is retired in the same
    transaction, so there is never zero or two active versions."""
    target = ModelVersion.objects.select_for_update().get(version=version)
    if target.status == ModelStatus.ACTIVE:
        return target
    if target.status == ModelStatus.RETIRED:
        raise ValueError(f"{version} is retired and cannot be made active again")
    now = timezone.now()
    previous = list(ModelVersion.objects.select_for_update().filter(status=ModelStatus.ACTIVE))
    for old in previous:
        old.status, old.retired_at = ModelStatus.RETIRED, now
        old.save(update_fields=["status", "retired_at"])
    target.status, target.promoted_at = ModelStatus.ACTIVE, now
    target.save(update_fields=["status", "promoted_at"])
    audit_event_record(
        event_type=AuditEvent.MODEL_PROMOTED,
        changed_by=changed_by,
        entity_type="MODEL",
        entity_id=target.pk,
        model_version=version,
        old_values={"active": [old.version for old in previous]},
        new_values={"active": version},
    )
    return target


class NoActiveModel(Exception):
    pass


def active_model_version(*fields: str) -> ModelVersion:
    """The active version; with `fields`, only those are loaded (the real-time path skips
    the metrics JSON, which is parsed on every load)."""
    active = ModelVersion.objects.filter(status=ModelStatus.ACTIVE)
    version = (active.only(*fields) if fields else active).first()
    if version is None:
        raise NoActiveModel("no model version is active")
    return version


@transaction.atomic
def patient_score(*, patient_id: int, changed_by: str) -> list[Prediction]:
    """Score one patient now under the active version (cached model): three predictions
    with projections; earlier current ones are superseded, not deleted. The PREDICTION_RUN
    event holds the old and new scores."""
    version = active_model_version("version", "artifact_sha256", "tier_thresholds")
    bundle = model_bundle_load(version.version, version.artifact_sha256)
    chunk = patients_score(
        ids=[patient_id],
        bundle=bundle,
        thresholds=version.tier_thresholds,
        version=version.version,
        actor=changed_by,
    )
    predictions = list(
        Prediction.objects.filter(prediction_id__in=chunk.prediction_ids)
        .select_related("projection")
        .order_by("prediction_window")
    )
    audit_event_record(
        event_type=AuditEvent.PREDICTION_RUN,
        changed_by=changed_by,
        entity_type="PATIENT",
        entity_id=patient_id,
        model_version=version.version,
        old_values={window: score for _, window, score in chunk.superseded} or None,
        new_values={p.prediction_window: str(p.risk_score) for p in predictions},
    )
    transaction.on_commit(_views_refresh_request)
    return predictions


def _views_refresh_request() -> None:
    from finance.refresh import views_refresh_request

    views_refresh_request()


def patient_score_or_defer(*, patient_id: int, changed_by: str) -> list[Prediction] | None:
    """Score now if possible; otherwise leave the patient awaiting scoring (logged). Nothing
    is lost: an unscored patient is exactly what the periodic `score_pending` task looks
    for, so it is scored as soon as a model and the database allow."""
    try:
        return patient_score(patient_id=patient_id, changed_by=changed_by)
    except (NoActiveModel, ModelIntegrityError, DatabaseError) as exc:
        logger.warning("patient %s left awaiting scoring: %s", patient_id, exc)
        return None


def pending_patients_score(*, changed_by: str) -> ScoringRun | None:
    """Score every patient awaiting a score under the active version (the outbox sweep):
    in this process, with workers asked to help on a large backlog. While the version has an
    unfinished run this joins it rather than planning the same patients a second time."""
    try:
        version = active_model_version()
    except NoActiveModel:
        return None
    unfinished = ScoringRun.objects.filter(model_version=version, status__in=UNFINISHED)
    if not unfinished.exists() and not _anyone_needs_score(version.version):
        return None
    run = scoring_run_create(version=version.version, changed_by=changed_by, chunk_size=1000)
    return population_score(run_id=run.pk, helpers=True)


def _anyone_needs_score(version: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS ({NEEDS_SCORE_SQL})",
            {"version": version, "windows": len(WINDOWS)},
        )
        return cursor.fetchone()[0]


def patient_saved_in_admin(
    *,
    patient,
    created: bool,
    features_changed: bool,
    changed_by: str,
    demographics_changed: dict[str, tuple[str, str]] | None = None,
) -> list[Prediction] | None:
    """After the admin's add or change form: record the event and score the patient (a new
    patient, or changed features: old predictions are kept as superseded). Changed
    demographics are recorded as PATIENT_UPDATED (old and new values)."""
    from patients.models import PatientFeatures
    from patients.services import patient_added_record

    if demographics_changed and not created:
        audit_event_record(
            event_type=AuditEvent.PATIENT_UPDATED,
            changed_by=changed_by,
            entity_type="PATIENT",
            entity_id=patient.pk,
            old_values={name: old for name, (old, _) in demographics_changed.items()},
            new_values={name: new for name, (_, new) in demographics_changed.items()},
        )
    if created:
        patient_added_record(patient=patient, changed_by=changed_by)
    elif features_changed:
        PatientFeatures.objects.filter(patient=patient).update(updated_at=timezone.now())
    else:
        return None
    return patient_score_or_defer(patient_id=patient.pk, changed_by=changed_by)
