"""Monitor a model version: observed performance against outcomes, drift of its scored
population against its training data, warnings; stored as a ModelMonitoringRun with an
audit row (docs/monitoring.md, "Model monitoring")."""

from dataclasses import asdict

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from predictions.model_store import WINDOWS
from predictions.models import ModelMonitoringRun, ModelStatus, ModelVersion, RunStatus
from predictions.monitoring import (
    Thresholds,
    drift_warnings,
    feature_drift,
    observed_fairness_notes,
    observed_window,
    performance_warnings,
    reference_usable,
    score_drift,
)
from predictions.monitoring_selectors import (
    current_scores,
    outcomes_frame,
    population_feature_counts,
)
from riskplatform.core.models import AuditEvent
from riskplatform.core.services import audit_event_record
from riskplatform.core.windows import PredictionWindow

WINDOW_LABELS = dict(PredictionWindow.choices)


def monitoring_thresholds() -> Thresholds:
    low, high = settings.MONITORING_CALIBRATION_SLOPE_BOUNDS
    return Thresholds(
        auc_margin=settings.MONITORING_AUC_MARGIN,
        calibration_tolerance=settings.MONITORING_CALIBRATION_TOLERANCE,
        slope_low=low,
        slope_high=high,
        psi_moderate=settings.MONITORING_PSI_MODERATE,
        psi_threshold=settings.MONITORING_PSI_THRESHOLD,
        min_outcomes=settings.MONITORING_MIN_OUTCOMES,
        min_population=settings.MONITORING_MIN_POPULATION,
    )


def _observed(version: ModelVersion, t: Thresholds) -> tuple[dict, list[dict], list[str]]:
    frame = outcomes_frame(version=version.version)
    trained = (version.metrics or {}).get("windows") or {}
    windows, warnings, notes = {}, [], []
    for window in WINDOWS:
        part = frame[frame["window"] == window]
        if part.empty:
            continue
        observed = observed_window(part, trained.get(window) or {})
        observed["judged"] = observed["overall"]["n"] >= t.min_outcomes
        windows[window] = observed
        label = WINDOW_LABELS[window]
        warnings += performance_warnings(label, window, observed, t)
        if observed["judged"]:
            notes += observed_fairness_notes(label, observed)
    return {"outcomes": len(frame), "windows": windows}, warnings, notes


def _drift(version: ModelVersion, t: Thresholds) -> dict:
    reference = (version.metrics or {}).get("drift_reference")
    unusable = reference_usable(reference)
    if unusable:
        return {"available": False, "message": unusable}
    population, counts = population_feature_counts(version=version, reference=reference)
    if population < t.min_population:
        return {
            "available": False,
            "population": population,
            "message": f"{population} currently scored patients with features: fewer than "
            f"{t.min_population}, too few to judge drift.",
        }
    return {
        "available": True,
        "population": population,
        **feature_drift(reference, counts, t),
        "scores": score_drift(reference, current_scores(version=version.version), t),
    }


def monitoring_compute(version: ModelVersion, t: Thresholds) -> tuple[dict, list[dict]]:
    """The run's results and warnings (reads and arithmetic, no writes)."""
    observed, warnings, notes = _observed(version, t)
    drift = _drift(version, t)
    warnings += drift_warnings(drift, WINDOW_LABELS, t)
    results = {
        "thresholds": asdict(t),
        "observed": observed,
        "drift": drift,
        "fairness_notes": notes,
    }
    return results, warnings


def model_version_monitor(*, version: str, changed_by: str) -> ModelMonitoringRun:
    """Monitor one version now. The run row exists (status running) before the work starts;
    a failure keeps the run with status failed and the error, and is re-raised."""
    model_version = ModelVersion.objects.get(version=version)
    run = ModelMonitoringRun.objects.create(
        model_version=model_version,
        status=RunStatus.RUNNING,
        started_at=timezone.now(),
        created_by=changed_by,
    )
    try:
        # One savepoint for reads and writes: a database error inside leaves the connection
        # usable for recording the failure, even inside a caller's transaction.
        with transaction.atomic():
            results, warnings = monitoring_compute(model_version, monitoring_thresholds())
            run.status, run.finished_at = RunStatus.SUCCEEDED, timezone.now()
            run.results, run.warnings = results, warnings
            run.save(update_fields=["status", "finished_at", "results", "warnings"])
            _audit(run, changed_by)
    except Exception as exc:
        with transaction.atomic():
            run.status, run.finished_at = RunStatus.FAILED, timezone.now()
            run.error = f"{type(exc).__name__}: {exc}"
            run.results, run.warnings = {}, []
            run.save(update_fields=["status", "finished_at", "error", "results", "warnings"])
            _audit(run, changed_by)
        raise
    return run


def _audit(run: ModelMonitoringRun, changed_by: str) -> None:
    drift = run.results.get("drift") or {}
    audit_event_record(
        event_type=AuditEvent.MODEL_MONITORED,
        changed_by=changed_by,
        entity_type="MODEL_MONITORING_RUN",
        entity_id=run.pk,
        model_version=run.model_version_id,
        new_values={
            "status": run.status,
            "error": run.error or None,
            "outcomes": (run.results.get("observed") or {}).get("outcomes"),
            "top_drifting_features": drift.get("top", []),
            "warnings": [w["message"] for w in run.warnings],
        },
    )


def models_monitor(*, changed_by: str) -> list[ModelMonitoringRun]:
    """Monitor the active version, then every candidate (newest first)."""
    versions = list(
        ModelVersion.objects.filter(status__in=[ModelStatus.ACTIVE, ModelStatus.CANDIDATE])
        .order_by("status", "-created_at")  # "active" sorts before "candidate"
        .values_list("version", flat=True)
    )
    return [model_version_monitor(version=v, changed_by=changed_by) for v in versions]
