"""Reads for the model cards: the registry list, and one version's card (held-out metrics,
calibration, the distribution of its current scores, the comparison with the active version
and the fairness panel). Aggregates only: no patient is named or counted singly."""

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Case, Exists, OuterRef, Value, When

from patients.models import Gender
from predictions.fairness import (
    SELECTED_MIN_TIER,
    GroupFairness,
    fairness_warnings,
    selection_ratios,
)
from predictions.model_store import WINDOWS
from predictions.models import ModelComparison, ModelMonitoringRun, ModelStatus, ModelVersion
from predictions.monitoring_selectors import latest_monitoring_run
from riskplatform.core.windows import TIER_LABELS

HISTOGRAM_BINS = 10
FAIRNESS_ATTRIBUTES = {"race": "by_race", "gender": "by_gender"}
UNKNOWN_GROUP = "Unknown"
# The held-out metrics a comparison stores for both versions (predictions/comparison.py).
COMPARED_METRICS = {
    "auc": "AUC",
    "brier": "Brier score",
    "calibration_slope": "Calibration slope",
    "calibration_intercept": "Calibration intercept",
}
_GENDER_LABELS = dict(Gender.choices)

# Current scores of one version, of active patients (as the views count them), in 0.1 bins;
# width_bucket puts a score of exactly 1 in an eleventh bucket, which belongs to the last.
_HISTOGRAM_SQL = """
SELECT pr.prediction_window,
       LEAST(width_bucket(pr.risk_score, 0, 1, %(bins)s), %(bins)s),
       count(*)
FROM predictions pr
JOIN patients p ON p.patient_id = pr.patient_id AND p.is_active
WHERE pr.model_version = %(version)s AND pr.superseded_at IS NULL
GROUP BY 1, 2
"""

# Scored and selected patients per window by race, by gender and overall in one pass; the
# GROUPING bits tell a NULL race (unknown) from the rows that aggregate over race.
_SELECTION_SQL = """
SELECT pr.prediction_window, p.race, p.gender, GROUPING(p.race, p.gender),
       count(*), count(*) FILTER (WHERE pr.risk_tier >= %(tier)s)
FROM predictions pr
JOIN patients p ON p.patient_id = pr.patient_id AND p.is_active
WHERE pr.model_version = %(version)s AND pr.superseded_at IS NULL
GROUP BY GROUPING SETS ((pr.prediction_window, p.race), (pr.prediction_window, p.gender),
                        (pr.prediction_window))
"""
_BY_RACE, _BY_GENDER, _OVERALL = 1, 2, 3


def model_versions_list() -> list[dict]:
    """Every registered version, newest first, with its held-out AUC per window and its
    latest monitoring run's status and warnings."""
    from predictions.monitoring_selectors import latest_run_subquery

    auc_paths = {window: f"metrics__windows__{window}__auc" for window in WINDOWS}
    rows = ModelVersion.objects.annotate(
        compared=Exists(ModelComparison.objects.filter(candidate=OuterRef("version"))),
        monitoring_status=latest_run_subquery("status"),
        monitoring_warnings=latest_run_subquery("warnings"),
    ).values("version", "status", "created_at", "promoted_at", "retired_at", "compared",
             "monitoring_status", "monitoring_warnings", *auc_paths.values())  # fmt: skip
    return [
        {**row, "auc": [row.pop(path) for path in auc_paths.values()]}
        for row in rows.order_by("-created_at", "-pk")
    ]


@dataclass
class FairnessPanel:
    attribute: str
    groups: list[GroupFairness]
    ratios: dict[str, float]
    warnings: list[str]


@dataclass
class WindowCard:
    window: str
    metrics: dict
    thresholds: list
    histogram: list[int]
    overall_scored: int = 0
    overall_selected: int = 0
    fairness: list[FairnessPanel] = field(default_factory=list)
    comparison: dict | None = None

    @property
    def calibration_bins(self) -> list[dict]:
        return self.metrics.get("calibration_bins") or []

    @property
    def overall_selection_rate(self) -> float | None:
        return self.overall_selected / self.overall_scored if self.overall_scored else None


@dataclass
class ModelCard:
    version: ModelVersion
    active_version: str | None
    comparison: ModelComparison | None
    windows: list[WindowCard]
    monitoring: ModelMonitoringRun | None = None  # the latest run, whatever its status

    @property
    def holdout(self) -> dict:
        return self.version.metrics.get("holdout") or {}


def model_card_read(*, version: str) -> ModelCard:
    """One version's card; raises ModelVersion.DoesNotExist for an unknown label."""
    model_version = ModelVersion.objects.get(version=version)
    active = (
        version
        if model_version.status == ModelStatus.ACTIVE
        else ModelVersion.objects.filter(status=ModelStatus.ACTIVE)
        .values_list("version", flat=True)
        .first()
    )
    comparison = None
    if model_version.status != ModelStatus.ACTIVE:
        # The newest comparison of this version, one against today's active version first.
        comparison = (
            ModelComparison.objects.filter(candidate_id=version)
            .order_by(
                Case(When(baseline_id=active, then=Value(0)), default=Value(1)),
                "-created_at",
                "-pk",
            )
            .first()
        )
    stored = (model_version.metrics or {}).get("windows", {})
    windows = {
        window: WindowCard(
            window=window,
            metrics=stored.get(window) or {},
            thresholds=(model_version.tier_thresholds or {}).get(window) or [],
            histogram=[0] * HISTOGRAM_BINS,
            comparison=_comparison_window(comparison, window),
        )
        for window in WINDOWS
    }
    for window, bucket, count in _rows(
        _HISTOGRAM_SQL, {"bins": HISTOGRAM_BINS, "version": version}
    ):
        windows[window].histogram[bucket - 1] = count
    _fairness_fill(windows, version)
    return ModelCard(
        model_version,
        active,
        comparison,
        list(windows.values()),
        monitoring=latest_monitoring_run(version=version),
    )


def _rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _fairness_fill(windows: dict[str, WindowCard], version: str) -> None:
    scored: dict[tuple[str, str, str], tuple[int, int]] = {}
    for window, race, gender, grouping, n, selected in _rows(
        _SELECTION_SQL, {"tier": int(SELECTED_MIN_TIER), "version": version}
    ):
        if grouping == _OVERALL:
            windows[window].overall_scored, windows[window].overall_selected = n, selected
        elif grouping == _BY_RACE:
            scored[(window, "race", race or UNKNOWN_GROUP)] = (n, selected)
        elif grouping == _BY_GENDER:
            scored[(window, "gender", gender or UNKNOWN_GROUP)] = (n, selected)
    for card in windows.values():
        for attribute, key in FAIRNESS_ATTRIBUTES.items():
            held_out = card.metrics.get(key) or {}
            names = set(held_out) | {
                g for (w, a, g) in scored if w == card.window and a == attribute
            }
            groups = []
            for name in sorted(names):
                metrics = held_out.get(name) or {}
                n, selected = scored.get((card.window, attribute, name), (0, 0))
                groups.append(
                    GroupFairness(
                        attribute=attribute,
                        group=_group_label(attribute, name),
                        holdout_n=metrics.get("n") or 0,
                        auc=metrics.get("auc"),
                        mean_predicted=metrics.get("mean_predicted"),
                        observed_rate=metrics.get("observed_rate"),
                        scored_n=n,
                        selected_n=selected,
                    )
                )
            card.fairness.append(
                FairnessPanel(
                    attribute=attribute,
                    groups=groups,
                    ratios=selection_ratios(groups),
                    warnings=fairness_warnings(overall_auc=card.metrics.get("auc"), groups=groups),
                )
            )


def _group_label(attribute: str, value: str) -> str:
    return _GENDER_LABELS.get(value, value) if attribute == "gender" else value


def _comparison_window(comparison: ModelComparison | None, window: str) -> dict | None:
    """Counts, the tier transition matrix (labelled) and metrics side by side; the summary's
    top movers name patients and stay off the card."""
    if comparison is None:
        return None
    summary = (comparison.summary.get("windows") or {}).get(window) or {}
    matrix = summary.get("matrix") or [[0] * len(TIER_LABELS) for _ in TIER_LABELS]
    metrics = summary.get("metrics") or {}
    return {
        "patients": summary.get("patients", 0),
        "kept": summary.get("kept", 0),
        "raised": summary.get("raised", 0),
        "lowered": summary.get("lowered", 0),
        "score_change": summary.get("score_change") or {},
        "matrix": [
            {"tier": tier, "label": label, "counts": matrix[tier - 1]}
            for tier, label in TIER_LABELS.items()
        ],
        "metrics": [
            {
                "name": name,
                "baseline": (metrics.get(comparison.baseline_id) or {}).get(key),
                "candidate": (metrics.get(comparison.candidate_id) or {}).get(key),
            }
            for key, name in COMPARED_METRICS.items()
        ],
    }
