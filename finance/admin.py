from django.contrib import admin

from finance.models import (
    FinancialProjection,
    Intervention,
    InterventionPolicy,
    RoiPositivePatient,
    RoiTierSummary,
)
from predictions.admin import ReportViewAdmin
from riskplatform.core.admin_mixins import (
    HistoryAdmin,
    PatientReferenceMixin,
    PatientSearchMixin,
    PhiAdminMixin,
    ReadOnlyAdminMixin,
    ReadOnlyModelAdmin,
)


@admin.register(InterventionPolicy)
class InterventionPolicyAdmin(HistoryAdmin):
    list_display = (
        "prediction_window",
        "risk_tier",
        "intervention_cost",
        "success_rate_min",
        "success_rate_max",
        "addressable_cost_pct",
        "description",
        "updated_at",
    )
    list_filter = ("prediction_window", "risk_tier")

    def get_readonly_fields(self, request, obj=None):
        # The (window, tier) a policy answers for is fixed once created.
        return ("prediction_window", "risk_tier", "updated_at") if obj else ("updated_at",)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FinancialProjection)
class FinancialProjectionAdmin(
    PhiAdminMixin, PatientSearchMixin, PatientReferenceMixin, ReadOnlyModelAdmin
):
    list_display = (
        "patient",
        "projection_window",
        "risk_tier",
        "annual_cost",
        "window_cost",
        "intervention_cost",
        "success_rate_actual",
        "expected_savings",
        "net_benefit",
        "roi_percentage",
        "roi_category",
        "actual_savings",
        "created_at",
    )
    list_filter = (
        "projection_window",
        "risk_tier",
        "roi_category",
        "prediction__model_version",
        "patient__department",
        "patient__data_source",
    )
    list_select_related = ("patient",)
    show_full_result_count = False


@admin.register(RoiPositivePatient)
class RoiPositivePatientAdmin(PhiAdminMixin, PatientSearchMixin, ReportViewAdmin):
    patient_path = ""
    phi_patient = "patient_uuid"
    list_display = (
        "patient_uuid",
        "department_name",
        "projection_window",
        "risk_tier",
        "tier_label",
        "risk_score",
        "annual_cost",
        "intervention_cost",
        "expected_savings",
        "net_benefit",
        "roi_percentage",
        "roi_grade",
    )
    list_filter = ("projection_window", "roi_grade", "roi_category", "risk_tier", "department_name")
    search_external_id = False  # the view carries patient_uuid only
    exclude = ("patient_id",)  # the internal id: only patient_uuid leaves the system
    search_help_text = "Exact patient UUID"


@admin.register(RoiTierSummary)
class RoiTierSummaryAdmin(ReportViewAdmin):
    list_display = (
        "department_code",
        "prediction_window",
        "risk_tier",
        "patient_count",
        "intervention_cost",
        "expected_savings",
        "net_benefit",
    )
    list_filter = ("prediction_window", "risk_tier", "department_code")


@admin.register(Intervention)
class InterventionAdmin(
    PhiAdminMixin, PatientSearchMixin, PatientReferenceMixin, ReadOnlyAdminMixin,
    HistoryAdmin,
):  # fmt: skip
    """Read-only: interventions are recorded and corrected in the workspace pages, whose
    services audit every change and re-realise savings (finance/interventions.py). The
    patient is shown by patient_uuid, never by the internal key."""

    list_display = (
        "intervention_uuid",
        "patient_uuid",
        "intervention_type",
        "status",
        "intervention_date",
        "cost_spent",
        "recorded_by",
        "updated_at",
    )
    list_filter = ("status", "intervention_type", "intervention_date", "patient__department")
    list_select_related = ("patient",)
    exclude = ("prediction",)  # its widget would link to the prediction's internal id
    readonly_fields = ("intervention_uuid", "prompting_prediction")
    show_full_result_count = False

    @admin.display(description="Patient", ordering="patient__patient_uuid")
    def patient_uuid(self, obj: Intervention):
        return obj.patient.patient_uuid

    @admin.display(description="Prompted by")
    def prompting_prediction(self, obj: Intervention) -> str:
        p = obj.prediction
        if p is None:
            return "-"
        return (
            f"{p.prediction_window} prediction of {p.prediction_timestamp:%Y-%m-%d} under "
            f"{p.model_version_id}, tier {p.risk_tier}"
        )
