from django.contrib import admin

from finance.admin_actions import record_intervention
from finance.forms import InterventionForm
from finance.interventions import intervention_update
from finance.models import (
    FinancialProjection,
    Intervention,
    InterventionPolicy,
    RoiPositivePatient,
    RoiTierSummary,
)
from patients.admin import PatientAdmin
from patients.admin_scope import VisibleRecordsAdminMixin, department_filter, export_selected_csv
from patients.models import Patient
from predictions.admin import ReportViewAdmin
from riskplatform.core.admin_mixins import (
    HistoryAdmin,
    PatientReferenceMixin,
    PatientSearchMixin,
    PhiAdminMixin,
    ReadOnlyModelAdmin,
)

admin.site.unregister(Patient)


@admin.register(Patient)
class PatientWithInterventionsAdmin(PatientAdmin):
    """The patient admin with finance's action on selected patients."""

    actions = (*PatientAdmin.actions, record_intervention)

    def has_record_intervention_permission(self, request) -> bool:
        return request.user.has_perm("finance.add_intervention")


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
    PhiAdminMixin, VisibleRecordsAdminMixin, PatientSearchMixin, PatientReferenceMixin,
    ReadOnlyModelAdmin,
):  # fmt: skip
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
        department_filter("patient__department"),
        "patient__data_source",
    )
    list_select_related = ("patient",)
    actions = (export_selected_csv,)
    show_full_result_count = False


@admin.register(RoiPositivePatient)
class RoiPositivePatientAdmin(
    PhiAdminMixin, VisibleRecordsAdminMixin, PatientSearchMixin, ReportViewAdmin
):
    patient_path = ""
    phi_patient = "patient_uuid"
    visible_department = "department_id"
    actions = (export_selected_csv,)
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
    PhiAdminMixin, VisibleRecordsAdminMixin, PatientSearchMixin, PatientReferenceMixin,
    HistoryAdmin,
):  # fmt: skip
    """Recorded through the patients' "record intervention" action (or the workspace);
    changed here through the same service, which audits every change and re-realises
    savings (finance/interventions.py). The patient is shown by patient_uuid, never by the
    internal key."""

    form = InterventionForm
    actions = (export_selected_csv,)
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
    list_filter = ("status", "intervention_type", "intervention_date",
                   department_filter("patient__department"))  # fmt: skip
    list_select_related = ("patient",)
    exclude = ("prediction",)  # its widget would link to the prediction's internal id
    readonly_fields = ("intervention_uuid", "prompting_prediction")
    show_full_result_count = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # on selected patients (their admin's action) or the patient page

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a mistaken record is corrected (status, date), never erased

    def save_model(self, request, obj: Intervention, form, change) -> None:
        intervention_update(
            intervention=obj,
            **{name: form.cleaned_data[name] for name in InterventionForm.Meta.fields},
            recorded_by=f"admin:{request.user.get_username()}"[:50],
        )

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
