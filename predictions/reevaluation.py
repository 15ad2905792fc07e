"""Scheduled re-evaluation (the seed's Scenario 3) and promotion.

A candidate is trained (or taken from the registry), scored for the whole population under
its own label, which changes nothing coordinators see (the views follow the active version),
and compared with the active version. Promotion is a separate, guarded step.
"""

import re
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from finance.services import views_refresh
from predictions.comparison import model_versions_compare
from predictions.model_store import WINDOWS
from predictions.models import ModelComparison, ModelStatus, ModelVersion, RunStatus, ScoringRun
from predictions.monitoring_selectors import latest_monitoring_run
from predictions.scoring import patients_needing_score
from predictions.scoring_runs import population_score, scoring_run_create, scoring_run_dispatch
from predictions.services import (
    active_model_version,
    model_version_activate,
    model_version_insert,
    model_version_train,
)
from predictions.snapshot_selectors import training_snapshot_get
from riskplatform.core.models import AuditEvent
from riskplatform.core.services import audit_event_record


class PromotionRefused(ValueError):
    pass


def model_version_next_label(base: str) -> str:
    """v1.0 -> v1.1 (or the next free minor number); other labels get a numeric suffix."""
    match = re.fullmatch(r"v(\d+)\.(\d+)", base)
    major, minor = (int(match[1]), int(match[2])) if match else (1, 0)
    taken = set(ModelVersion.objects.values_list("version", flat=True))
    minor += 1
    while f"v{major}.{minor}" in taken:
        minor += 1
    return f"v{major}.{minor}"


def model_reevaluate(
    *,
    changed_by: str,
    snapshot_id: int | None = None,
    candidate: str | None = None,
    seed: int = 0,
) -> ModelComparison:
    """Re-evaluate in this process (the CLI and tests): train or take a candidate, score
    everyone under it, compare. The scheduled task takes the same steps on workers."""
    run = model_reevaluation_start(
        changed_by=changed_by, snapshot_id=snapshot_id, candidate=candidate, seed=seed,
        dispatch=False,
    )  # fmt: skip
    population_score(run_id=run.pk)
    return model_reevaluation_compare(run_id=run.pk, changed_by=changed_by)


def model_reevaluation_start(
    *,
    changed_by: str,
    snapshot_id: int | None = None,
    candidate: str | None = None,
    seed: int = 0,
    dispatch: bool = True,
) -> ScoringRun:
    """Train a candidate (unless one is given) and create its scoring run, to be compared
    with the active version when it succeeds; with `dispatch`, workers are asked to score it
    (the comparison then follows from the task that ends the run)."""
    baseline = active_model_version()
    if candidate is None:
        # From PostgreSQL, not a file: the worker that runs this may be on any host.
        snapshot = training_snapshot_get(snapshot_id=snapshot_id)
        candidate = model_version_next_label(baseline.version)
        model_version_train(
            version=candidate,
            snapshot=snapshot,
            changed_by=changed_by,
            seed=seed,
        )
    run = scoring_run_create(
        version=candidate, changed_by=changed_by, compare_with=baseline.version
    )
    if dispatch:
        with transaction.atomic():
            scoring_run_dispatch(run_id=run.pk)
    return run


def runs_owing_comparison() -> list[int]:
    """Re-evaluation runs that succeeded in the past week without their comparison (the
    follow-up message was lost): the sweep sends it again."""
    since = timezone.now() - timedelta(days=7)
    owing = ScoringRun.objects.filter(
        status=RunStatus.SUCCEEDED, compare_with__isnull=False, finished_at__gte=since,
        comparison__isnull=True,
    )  # fmt: skip
    return list(owing.values_list("run_id", flat=True))


def model_reevaluation_compare(*, run_id: int, changed_by: str) -> ModelComparison:
    """Compare a re-evaluation run's candidate with the version it was started against; once
    per run (a repeated call returns the same comparison)."""
    with transaction.atomic():
        run = ScoringRun.objects.select_for_update().get(pk=run_id)
        existing = ModelComparison.objects.filter(scoring_run_id=run_id).first()
        if existing is not None:
            return existing
        if run.status != RunStatus.SUCCEEDED or run.compare_with_id is None:
            raise ValueError(f"run {run_id} is {run.status}; nothing to compare yet")
        baseline, candidate = run.compare_with_id, run.model_version_id
        summary = model_versions_compare(baseline=baseline, candidate=candidate)
        comparison = ModelComparison.objects.create(
            baseline_id=baseline, candidate_id=candidate, summary=summary, scoring_run=run,
            created_by=changed_by,
        )  # fmt: skip
        audit_event_record(
            event_type=AuditEvent.MODEL_UPDATE,
            changed_by=changed_by,
            entity_type="MODEL",
            entity_id=comparison.pk,
            model_version=candidate,
            old_values={"active": baseline},
            new_values={
                "candidate": candidate,
                "windows": {
                    w: {k: summary["windows"][w].get(k)
                        for k in ("patients", "kept", "raised", "lowered", "metrics")}
                    for w in WINDOWS
                },
            },
        )  # fmt: skip
    if settings.MODEL_AUTO_PROMOTE and _candidate_is_no_worse(summary):
        model_version_promote(version=candidate, changed_by=f"{changed_by} (auto)"[:50])
    return comparison


def reevaluation_enqueue_on_warning() -> bool:
    """Early retraining (setting REEVALUATION_RETRAIN_ON_WARNING, off by default): when the
    active version's latest monitoring run warns, enqueue the re-evaluation once the caller's
    transaction commits instead of waiting for the weekly schedule. Not again while a
    comparison against the active version is younger than REEVALUATION_RETRAIN_COOLDOWN_DAYS
    (a re-evaluation takes hours; daily warnings must not start one a day)."""
    if not settings.REEVALUATION_RETRAIN_ON_WARNING:
        return False
    active = ModelVersion.objects.filter(status=ModelStatus.ACTIVE).only("version").first()
    if active is None:
        return False
    run = latest_monitoring_run(version=active.version)
    if run is None or run.status != RunStatus.SUCCEEDED or not run.warnings:
        return False
    since = timezone.now() - timedelta(days=settings.REEVALUATION_RETRAIN_COOLDOWN_DAYS)
    if ModelComparison.objects.filter(baseline_id=active.version, created_at__gte=since).exists():
        return False
    from predictions.tasks import reevaluate_task

    transaction.on_commit(reevaluate_task.delay)
    return True


def _candidate_is_no_worse(summary: dict) -> bool:
    """AUC not lower than the baseline's in any window, calibration slope within bounds."""
    low, high = settings.MODEL_CALIBRATION_SLOPE_BOUNDS
    for window in WINDOWS:
        metrics = summary["windows"][window]["metrics"]
        old, new = metrics[summary["baseline"]], metrics[summary["candidate"]]
        if new.get("auc") is None or old.get("auc") is None or new["auc"] < old["auc"]:
            return False
        slope = new.get("calibration_slope")
        if slope is None or not low <= slope <= high:
            return False
    return True


def model_version_promote(*, version: str, changed_by: str) -> ModelVersion:
    """Make a fully scored candidate active (the previous active version is retired in the
    same transaction), then refresh the views. Refuses retired and partially scored ones."""
    target = ModelVersion.objects.get(version=version)
    if target.status == ModelStatus.RETIRED:
        raise PromotionRefused(f"{version} is retired; register it again to bring it back")
    if target.status == ModelStatus.ACTIVE:
        raise PromotionRefused(f"{version} is already active")
    missing = len(patients_needing_score(version=version))
    if missing:
        raise PromotionRefused(
            f"{version} is not fully scored: {missing} active patient(s) have no current "
            "prediction under it; run score_population first"
        )
    activated = model_version_activate(version=version, changed_by=changed_by)
    views_refresh(changed_by=changed_by)
    return activated


def model_version_reinstate(*, version: str, changed_by: str) -> ModelVersion:
    """Roll back: register a retired version's exact artifact again under a new label, score
    everyone under it and promote it. History stays linear (a retired label never becomes
    active again, so every prediction row keeps meaning what it meant)."""
    old = ModelVersion.objects.get(version=version)
    if old.status != ModelStatus.RETIRED:
        raise PromotionRefused(f"{version} is {old.status}; only a retired version is reinstated")
    artifact = bytes(ModelVersion.objects.values_list("artifact", flat=True).get(pk=old.pk))
    label = model_version_next_label(active_model_version().version)
    with transaction.atomic():
        model_version_insert(
            version=label,
            artifact=artifact,
            artifact_sha256=old.artifact_sha256,
            changed_by=changed_by,
            feature_contract_version=old.feature_contract_version,
            tier_thresholds=old.tier_thresholds,
            metrics=old.metrics,
            training_fingerprint=old.training_fingerprint,
            notes=f"Reinstated from {version} (rollback) by {changed_by}.",
            audit_values={"reinstated_from": version, "sha256": old.artifact_sha256},
        )
    population_score(run_id=scoring_run_create(version=label, changed_by=changed_by).pk)
    return model_version_promote(version=label, changed_by=changed_by)
