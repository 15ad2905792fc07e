"""Model cards: what each registered version is, how well it did on held-out data, how its
current scores are spread, how it compares with the active version, and whether groups fare
differently. Aggregates only (no patient rows); every view is still logged as a report."""

from django.http import Http404
from django.shortcuts import render

from patients.models import Gender
from patients.visibility import role_required
from predictions.card_selectors import (
    HISTOGRAM_BINS,
    FairnessPanel,
    ModelCard,
    WindowCard,
    model_card_read,
    model_versions_list,
)
from predictions.fairness import (
    AUC_GAP_LIMIT,
    CALIBRATION_GAP_LIMIT,
    MIN_GROUP_N,
    SELECTION_RATIO_LIMIT,
)
from predictions.model_store import WINDOWS
from predictions.models import ModelVersion
from riskplatform.core.access import phi_logged, phi_shown
from riskplatform.core.charts import PALETTE, Series, bar_chart, line_chart
from riskplatform.core.models import AccessAction
from riskplatform.core.windows import TIER_LABELS, PredictionWindow

_WINDOW_LABELS = dict(PredictionWindow.choices)
_GENDER_LABELS = dict(Gender.choices)
_BIN_LABELS = [f"{i / HISTOGRAM_BINS:.1f}" for i in range(HISTOGRAM_BINS)]
# Rows of the metrics table: key in the stored window metrics, label, format.
METRIC_ROWS = (
    ("n", "Held-out patients", "{:,}"),
    ("observed_rate", "Observed rate", "{:.1%}"),
    ("mean_predicted", "Mean predicted", "{:.1%}"),
    ("auc", "AUC", "{:.3f}"),
    ("truth_auc", "AUC of the true risk", "{:.3f}"),
    ("auc_ratio_to_truth", "AUC / true-risk AUC", "{:.3f}"),
    ("brier", "Brier score", "{:.4f}"),
    ("calibration_slope", "Calibration slope", "{:.3f}"),
    ("calibration_intercept", "Calibration intercept", "{:.3f}"),
)


@role_required()
@phi_logged(AccessAction.REPORT_VIEW, report="model-cards")
def model_cards_view(request):
    rows = model_versions_list()
    return render(
        request,
        "predictions/model_cards.html",
        {"rows": rows, "windows": [_WINDOW_LABELS[w] for w in WINDOWS]},
    )


@role_required()
@phi_logged(AccessAction.REPORT_VIEW)
def model_card_view(request, version: str):
    try:
        card = model_card_read(version=version)
    except ModelVersion.DoesNotExist:
        raise Http404("unknown model version") from None
    phi_shown(request, report=f"model-card:{version}")
    return render(
        request,
        "predictions/model_card.html",
        {
            "card": card,
            "model": card.version,
            "window_labels": [_WINDOW_LABELS[w] for w in WINDOWS],
            "metric_rows": _metric_rows(card),
            "panels": [_window_panel(w) for w in card.windows],
            "tier_labels": list(TIER_LABELS.values()),
            "thresholds": {
                "min_group_n": MIN_GROUP_N,
                "auc_gap": AUC_GAP_LIMIT,
                "calibration_gap": CALIBRATION_GAP_LIMIT,
                "selection_ratio": SELECTION_RATIO_LIMIT,
            },
            "monitoring": _monitoring_panel(card),
        },
    )


def _metric_rows(card: ModelCard) -> list[dict]:
    rows = []
    for key, label, fmt in METRIC_ROWS:
        values = [w.metrics.get(key) for w in card.windows]
        if all(v is None for v in values):
            continue
        rows.append(
            {"label": label, "values": ["" if v is None else fmt.format(v) for v in values]}
        )
    return rows


def _window_panel(window: WindowCard) -> dict:
    label = _WINDOW_LABELS[window.window]
    bins = window.calibration_bins
    calibration = (
        line_chart(
            [Series("Observed rate", [b["observed_rate"] for b in bins])],
            [[b["mean_predicted"] for b in bins]],
            title=f"Calibration, {label}",
            x_label="Mean predicted risk (10 equal-count bins)",
            y_label="Observed rate",
            diagonal=True,
        )
        if bins
        else None
    )
    histogram = bar_chart(
        _BIN_LABELS,
        [Series("Current scores", window.histogram, PALETTE[0])],
        title=f"Current scores, {label} (bins of 0.1)",
    )
    return {
        "window": window,
        "label": label,
        "calibration_chart": calibration,
        "histogram_chart": histogram,
        "histogram_total": sum(window.histogram),
        "fairness": [_fairness_table(panel) for panel in window.fairness],
    }


def _fairness_table(panel: FairnessPanel) -> dict:
    def pct(value: float | None) -> str:
        return "" if value is None else f"{value:.1%}"

    def num(value: float | None, fmt: str = "{:.3f}") -> str:
        return "" if value is None else fmt.format(value)

    return {
        "attribute": panel.attribute,
        "warnings": panel.warnings,
        "rows": [
            {
                "group": g.group,
                "holdout_n": g.holdout_n,
                "holdout_judged": g.holdout_judged,
                "auc": num(g.auc),
                "mean_predicted": pct(g.mean_predicted),
                "observed_rate": pct(g.observed_rate),
                "calibration_gap": num(g.calibration_gap, "{:+.3f}"),
                "scored_n": g.scored_n,
                "selected_n": g.selected_n,
                "selection_judged": g.selection_judged,
                "selection_rate": pct(g.selection_rate),
                "selection_ratio": num(panel.ratios.get(g.group), "{:.2f}"),
            }
            for g in panel.groups
        ],
    }


# Rows of the observed-against-training table: key, label, format; the training figure is
# the held-out one stored with the version (None where training has no such figure).
MONITORING_ROWS = (
    ("n", "Predictions judged / held-out patients", "{:,}"),
    ("admissions", "Admitted", "{:,}"),
    ("observed_rate", "Observed rate", "{:.1%}"),
    ("mean_predicted", "Mean predicted", "{:.1%}"),
    ("calibration_in_the_large", "Mean predicted - observed", "{:+.3f}"),
    ("auc", "AUC", "{:.3f}"),
    ("brier", "Brier score", "{:.4f}"),
    ("calibration_slope", "Calibration slope", "{:.3f}"),
    ("calibration_intercept", "Calibration intercept", "{:.3f}"),
)
TOP_DRIFT_ROWS = 10


def _fmt(value, fmt: str) -> str:
    return "" if value is None else fmt.format(value)


def _monitoring_panel(card: ModelCard) -> dict | None:
    """The latest monitoring run as the card shows it: warnings, observed against training
    per window (and per month and group), drift. None when the version was never monitored."""
    run = card.monitoring
    if run is None:
        return None
    results = run.results or {}
    observed = (results.get("observed") or {}).get("windows") or {}
    drift = results.get("drift") or {}
    windows = []
    for window in WINDOWS:
        if window not in observed:
            continue
        o = observed[window]
        overall, trained = o["overall"], o["training"]
        training_citl = (
            trained["mean_predicted"] - trained["observed_rate"]
            if trained.get("mean_predicted") is not None
            and trained.get("observed_rate") is not None
            else None
        )
        trained = {**trained, "calibration_in_the_large": training_citl}
        windows.append({
            "label": _WINDOW_LABELS[window],
            "judged": o.get("judged", False),
            "rows": [
                {"label": label, "observed": _fmt(overall.get(key), fmt),
                 "training": _fmt(trained.get(key), fmt)}
                for key, label, fmt in MONITORING_ROWS
            ],
            "months": [
                {"month": m["month"], "n": m["n"], "admissions": m["admissions"],
                 "observed_rate": _fmt(m["observed_rate"], "{:.1%}"),
                 "mean_predicted": _fmt(m["mean_predicted"], "{:.1%}"),
                 "auc": _fmt(m["auc"], "{:.3f}"), "brier": _fmt(m["brier"], "{:.4f}")}
                for m in o["by_month"]
            ],
            "groups": [
                {"attribute": attribute, "rows": [
                    {"group": _group_label(attribute, name), "n": m["n"],
                     "admissions": m["admissions"], "judged": m["n"] >= MIN_GROUP_N,
                     "auc": _fmt(m["auc"], "{:.3f}"),
                     "training_auc": _fmt(m.get("training_auc"), "{:.3f}"),
                     "observed_rate": _fmt(m["observed_rate"], "{:.1%}"),
                     "mean_predicted": _fmt(m["mean_predicted"], "{:.1%}")}
                    for name, m in o[f"by_{attribute}"].items()
                ]}
                for attribute in ("race", "gender")
            ],
        })  # fmt: skip
    return {
        "run": run,
        "warnings": [w["message"] for w in run.warnings or []],
        "thresholds": results.get("thresholds") or {},
        "outcomes": (results.get("observed") or {}).get("outcomes", 0),
        "windows": windows,
        "drift": drift,
        "drift_features": [
            {**row, "psi": f"{row['psi']:.3f}"}
            for row in (drift.get("features") or [])[:TOP_DRIFT_ROWS]
        ],
        "score_drift": [
            {
                "label": _WINDOW_LABELS[w],
                "n": row["n"],
                "psi": f"{row['psi']:.3f}",
                "level": row["level"],
            }
            for w, row in (drift.get("scores") or {}).items()
        ],
        "notes": results.get("fairness_notes") or [],
    }


def _group_label(attribute: str, value: str) -> str:
    return _GENDER_LABELS.get(value, value) if attribute == "gender" else value
