from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from patients.admin_scope import VisibleRecordsAdminMixin, department_filter, export_selected_csv
from predictions.model_store import WINDOWS
from predictions.models import (
    DeptRiskDistribution,
    ModelComparison,
    ModelMonitoringRun,
    ModelVersion,
    OrgTierSummary,
    Prediction,
    PredictionOutcome,
    RunStatus,
    ScoringChunk,
    ScoringRun,
    TrainingSnapshot,
)
from predictions.monitoring_selectors import latest_monitoring_run, latest_run_subquery
from riskplatform.core.admin_mixins import (
    HistoryAdmin,
    PatientReferenceMixin,
    PatientSearchMixin,
    PhiAdminMixin,
    ReadOnlyModelAdmin,
)


@admin.register(ModelVersion)
class ModelVersionAdmin(HistoryAdmin):
    """Versions are registered and promoted by services (train_models, register_model, the
    promotion action); here only the notes are editable."""

    list_display = (
        "version",
        "status",
        "created_at",
        "created_by",
        "feature_contract_version",
        "promoted_at",
        "short_sha256",
        "monitoring_summary",
    )
    list_filter = ("status", "feature_contract_version")
    search_fields = ("version",)
    exclude = ("artifact",)
    actions = ("make_active",)
    readonly_fields = (
        "monitoring_warnings",
        "metrics_table",
        "version",
        "status",
        "created_at",
        "created_by",
        "promoted_at",
        "retired_at",
        "feature_contract_version",
        "tier_thresholds",
        "metrics",
        "training_fingerprint",
        "artifact_sha256",
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        # The latest monitoring run's status and warnings, in the list's one query.
        return (
            super()
            .get_queryset(request)
            .annotate(
                monitoring_status=latest_run_subquery("status"),
                monitoring_warning_list=latest_run_subquery("warnings"),
                monitoring_at=latest_run_subquery("created_at"),
            )
        )

    @admin.display(description="Monitoring")
    def monitoring_summary(self, obj: ModelVersion) -> str:
        status = getattr(obj, "monitoring_status", None)
        if status is None:
            return "not monitored"
        warnings = obj.monitoring_warning_list or []
        if status != RunStatus.SUCCEEDED:
            return f"latest run {status}"
        if not warnings:
            return "no warning"
        return format_html(
            '<strong title="{}">{} warning{}</strong>',
            " | ".join(w["message"] for w in warnings),
            len(warnings),
            "" if len(warnings) == 1 else "s",
        )

    @admin.display(description="Latest monitoring")
    def monitoring_warnings(self, obj: ModelVersion) -> str:
        run = latest_monitoring_run(version=obj.version)
        if run is None:
            return "Not monitored yet."
        head = format_html(
            "Run {} of {} ({}){}",
            run.run_id,
            run.created_at.strftime("%Y-%m-%d %H:%M"),
            run.status,
            format_html(": {}", run.error) if run.error else "",
        )
        if not run.warnings:
            return format_html("{}. No warning.", head)
        items = format_html_join("", "<li>{}</li>", ((w["message"],) for w in run.warnings))
        return format_html("{}.<ul>{}</ul>", head, items)

    @admin.action(
        description="Make active (promote a fully scored candidate)", permissions=["make_active"]
    )
    def make_active(self, request, queryset) -> None:
        from predictions.reevaluation import PromotionRefused, model_version_promote

        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version.", messages.ERROR)
            return
        version = queryset.get().version
        try:
            model_version_promote(
                version=version, changed_by=f"admin:{request.user.get_username()}"[:50]
            )
        except PromotionRefused as refused:
            self.message_user(request, f"Not promoted: {refused}", messages.ERROR)
            return
        self.message_user(request, f"{version} is now active; the views were refreshed.")

    def has_make_active_permission(self, request) -> bool:
        return request.user.has_perm("predictions.change_modelversion")

    @admin.display(description="SHA-256")
    def short_sha256(self, obj: ModelVersion) -> str:
        return obj.artifact_sha256[:12]

    @admin.display(description="Held-out metrics")
    def metrics_table(self, obj: ModelVersion) -> str:
        windows = (obj.metrics or {}).get("windows")
        if not windows:
            return "No metrics recorded."
        columns = ("auc", "truth_auc", "brier", "calibration_slope", "calibration_intercept")
        header = format_html_join("", "<th>{}</th>", ((c.replace("_", " "),) for c in columns))
        rows = format_html_join(
            "",
            "<tr><th>{}</th>{}</tr>",
            (
                (
                    window,
                    format_html_join(
                        "", "<td>{}</td>", ((windows[window].get(c, "-"),) for c in columns)
                    ),
                )
                for window in WINDOWS
                if window in windows
            ),
        )
        return format_html("<table><tr><th></th>{}</tr>{}</table>", header, rows)


@admin.register(Prediction)
class PredictionAdmin(
    PhiAdminMixin, VisibleRecordsAdminMixin, PatientSearchMixin, PatientReferenceMixin,
    ReadOnlyModelAdmin,
):  # fmt: skip
    list_display = (
        "patient",
        "prediction_window",
        "version_label",
        "risk_score",
        "risk_tier",
        "tier_label",
        "is_high_risk",
        "is_critical_risk",
        "prediction_timestamp",
        "superseded_at",
    )
    list_filter = (
        "prediction_window",
        "risk_tier",
        "model_version",
        "is_critical_risk",
        department_filter("patient__department"),
        "patient__data_source",
    )
    list_select_related = ("patient",)
    actions = (export_selected_csv,)
    show_full_result_count = False

    @admin.display(description="Model version", ordering="model_version")
    def version_label(self, obj: Prediction) -> str:
        return obj.model_version_id  # the label itself: the FK targets model_versions.version


class ReportViewAdmin(ReadOnlyModelAdmin):
    list_display_links = None
    show_full_result_count = False


@admin.register(OrgTierSummary)
class OrgTierSummaryAdmin(ReportViewAdmin):
    list_display = (
        "prediction_window",
        "risk_tier",
        "tier_label",
        "patient_count",
        "percentage",
        "avg_risk_score",
        "min_risk_score",
        "max_risk_score",
        "critical_count",
        "model_version",
    )
    list_filter = ("prediction_window", "risk_tier")


@admin.register(DeptRiskDistribution)
class DeptRiskDistributionAdmin(ReportViewAdmin):
    list_display = (
        "department_name",
        "department_code",
        "prediction_window",
        "total_patients",
        "high_risk_count",
        "critical_risk_count",
        "high_risk_percentage",
        "avg_risk_score",
    )
    list_filter = ("prediction_window", "department_name")


class ScoringChunkInline(admin.TabularInline):
    """Who holds or wrote each chunk, its attempts and error (docs/operations.md). The
    chunk's patients are internal ids and stay off the page; their number is shown."""

    model = ScoringChunk
    fields = ("chunk_no", "status", "patients", "attempts", "fencing_token", "lease_holder",
              "lease_expires_at", "patients_scored", "finished_at", "error")  # fmt: skip
    readonly_fields = fields
    can_delete = False
    extra = 0
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Patients")
    def patients(self, chunk: ScoringChunk) -> int:
        return len(chunk.patient_ids)


@admin.register(ScoringRun)
class ScoringRunAdmin(ReadOnlyModelAdmin):
    inlines = (ScoringChunkInline,)
    list_display = (
        "run_id",
        "model_version",
        "status",
        "progress_bar",
        "chunks",
        "patients_scored",
        "predictions_written",
        "projections_written",
        "seconds_scoring",
        "seconds_writing",
        "created_by",
        "started_at",
        "finished_at",
    )
    list_filter = ("status", "model_version")

    @admin.display(description="Chunks done")
    def chunks(self, obj: ScoringRun) -> str:
        return f"{obj.chunks_done} / {obj.chunks_total}"

    @admin.display(description="Progress")
    def progress_bar(self, obj: ScoringRun) -> str:
        return format_html(
            '<progress value="{}" max="{}" title="{} of {}"></progress> {}%',
            obj.patients_scored,
            max(obj.patients_total, 1),
            obj.patients_scored,
            obj.patients_total,
            round(100 * obj.progress),
        )


@admin.register(ModelComparison)
class ModelComparisonAdmin(PhiAdminMixin, ReadOnlyModelAdmin):
    """The summary names the top movers of each window by patient_uuid, with their scores."""

    list_display = ("created_at", "candidate", "baseline", "kept_raised_lowered", "created_by")
    list_filter = ("candidate", "baseline")

    def phi_patients_listed(self, request, records):
        return ()  # the list shows counts only

    def phi_patients_shown(self, request, record):
        for window in (record.summary or {}).get("windows", {}).values():
            yield from (mover["patient_uuid"] for mover in window.get("top_movers", []))

    @admin.display(description="30-day tiers: kept / raised / lowered")
    def kept_raised_lowered(self, obj: ModelComparison) -> str:
        w = obj.summary["windows"]["30_day"]
        return f"{w.get('kept', 0)} / {w.get('raised', 0)} / {w.get('lowered', 0)}"


@admin.register(PredictionOutcome)
class PredictionOutcomeAdmin(
    PhiAdminMixin, VisibleRecordsAdminMixin, PatientSearchMixin, ReadOnlyModelAdmin
):
    """Written by `outcomes_evaluate` (predictions/outcomes.py), daily."""

    phi_patient = "prediction.patient.patient_uuid"
    patient_path = "prediction__patient__"
    visible_department = "prediction__patient__department"
    actions = (export_selected_csv,)

    list_display = (
        "prediction_id", "patient_uuid", "window", "version_label", "window_start",
        "window_end", "admitted", "first_admission_date", "rule_version",
    )  # fmt: skip
    list_filter = ("admitted", "prediction__prediction_window", "prediction__model_version")
    list_select_related = ("prediction__patient",)
    exclude = ("prediction",)
    readonly_fields = ("patient_uuid", "window", "version_label")
    show_full_result_count = False

    @admin.display(description="Patient")
    def patient_uuid(self, obj: PredictionOutcome):
        return obj.prediction.patient.patient_uuid

    @admin.display(description="Window")
    def window(self, obj: PredictionOutcome) -> str:
        return obj.prediction.prediction_window

    @admin.display(description="Model version")
    def version_label(self, obj: PredictionOutcome) -> str:
        return obj.prediction.model_version_id


@admin.register(ModelMonitoringRun)
class ModelMonitoringRunAdmin(ReadOnlyModelAdmin):
    """Written by `model_version_monitor` (daily beat task predictions.monitor_models)."""

    list_display = ("created_at", "model_version", "status", "warning_count", "created_by")
    list_filter = ("status", "model_version")

    @admin.display(description="Warnings")
    def warning_count(self, obj: ModelMonitoringRun) -> int:
        return len(obj.warnings or [])


@admin.register(TrainingSnapshot)
class TrainingSnapshotAdmin(ReadOnlyModelAdmin):
    """Written by `training_snapshot_register` (training_data_register, train_models, the
    demo); re-evaluation trains on the latest. The content itself is not shown."""

    list_display = (
        "snapshot_id", "label", "row_count", "short_fingerprint", "prevalence_summary",
        "created_by", "created_at",
    )  # fmt: skip
    search_fields = ("label", "=fingerprint")
    exclude = ("content",)
    readonly_fields = ("prevalence_summary", "trained_versions")

    @admin.display(description="Fingerprint")
    def short_fingerprint(self, obj: TrainingSnapshot) -> str:
        return obj.fingerprint[:12]

    @admin.display(description="Prevalence")
    def prevalence_summary(self, obj: TrainingSnapshot) -> str:
        return " · ".join(f"{w} {share:.2%}" for w, share in obj.prevalence.items())

    @admin.display(description="Versions trained on it")
    def trained_versions(self, obj: TrainingSnapshot) -> str:
        versions = ModelVersion.objects.filter(training_fingerprint=obj.fingerprint)
        return ", ".join(versions.values_list("version", flat=True)) or "none"
