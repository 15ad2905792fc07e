from django.contrib import admin
from django.db.models import Count
from django.utils import timezone
from django.utils.text import capfirst

from patients.admin_scope import VisibleRecordsAdminMixin, department_filter, export_selected_csv
from patients.admin_uuid import PatientInlineFormSet, PatientUuidAdmin
from patients.import_schema import FIELD_SPECS
from patients.models import Admission, Department, Patient, PatientFeatures
from patients.spec_fields import spec_formfield
from patients.visibility import patients_editable_by
from riskplatform.core.admin_mixins import (
    HistoryAdmin,
    PatientReferenceMixin,
    PatientSearchMixin,
    PhiAdminMixin,
    ReadOnlyModelAdmin,
)


def _shown(name: str, value) -> str | None:
    # Audit values name a department by its code, never by its row id.
    if name == "department" and value is not None and not isinstance(value, Department):
        value = Department.objects.filter(pk=value).first()
    if isinstance(value, Department):
        return value.department_code
    return None if value is None else str(value)


class SpecFieldsMixin:
    """The admin's patient and feature fields validate through the field specifications
    (patients/spec_fields.py), as the API and the importer do. Whether a field may be left
    empty is the model's: the admin edits stored records, some of them older than a rule."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        column = FIELD_SPECS.get(db_field.name)
        if column is None or not db_field.editable:
            return super().formfield_for_dbfield(db_field, request, **kwargs)
        return spec_formfield(
            column,
            required=not db_field.blank and column.kind != "boolean",  # a box may be unticked
            label=capfirst(db_field.verbose_name),
            help_text=db_field.help_text,
        )


@admin.register(Department)
class DepartmentAdmin(VisibleRecordsAdminMixin, HistoryAdmin):
    visible_department = "pk"
    list_display = (
        "department_name",
        "department_code",
        "department_head",
        "contact_email",
        "flag_high_risk",
        "flag_critical_risk",
        "patient_count",
    )
    list_filter = ("flag_high_risk", "flag_critical_risk")
    search_fields = ("department_name", "department_code")
    readonly_fields = ("created_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_patient_count=Count("patients"))

    @admin.display(description="Patients", ordering="_patient_count")
    def patient_count(self, obj: Department) -> int:
        return obj._patient_count


class PatientFeaturesInline(SpecFieldsMixin, admin.StackedInline):
    model = PatientFeatures
    formset = PatientInlineFormSet
    can_delete = False
    extra = 1
    max_num = 1
    readonly_fields = ("feature_version", "created_at", "updated_at")
    fieldsets = (
        (
            "Chronic conditions (0 = missing, 1 = no, 2 = yes)",
            {
                "fields": (
                    "is_elderly",
                    ("has_alzheimers", "has_chf", "has_ckd", "has_cancer", "has_copd"),
                    ("has_depression", "has_diabetes", "has_ischemic_heart"),
                    ("has_ra_oa", "has_stroke"),
                )
            },
        ),
        (
            "Utilisation",
            {
                "fields": (
                    ("total_admissions_2008", "total_hospital_days_2008"),
                    ("days_since_last_admission", "recent_admission"),
                    ("total_outpatient_visits_2008", "high_outpatient_user"),
                )
            },
        ),
        (
            "Costs",
            {
                "fields": (
                    ("total_annual_cost", "cost_percentile", "high_cost"),
                    "total_inpatient_cost",
                )
            },
        ),
        ("Derived", {"fields": (("frailty_score", "complexity_index"),)}),
        ("Version", {"fields": (("feature_version", "created_at", "updated_at"),)}),
    )


@admin.register(Patient)
class PatientAdmin(
    SpecFieldsMixin, PhiAdminMixin, VisibleRecordsAdminMixin, PatientSearchMixin,
    PatientUuidAdmin,
):  # fmt: skip
    """Addressed by patient_uuid (patients/admin_uuid.py). The field-by-field change
    history (django-simple-history) is on the patient page, which shows it by role.
    finance/admin.py adds the "record intervention" action."""

    patient_path = ""
    phi_patient = "patient_uuid"
    visible_department = "department"
    actions = (export_selected_csv,)
    inlines = (PatientFeaturesInline,)
    list_display = (
        "patient_uuid",
        "external_id",
        "age",
        "gender",
        "race",
        "department",
        "data_source",
        "annual_cost",
        "is_active",
        "created_at",
    )
    list_filter = (department_filter("department"), "data_source", "is_active", "gender", "race")
    list_select_related = ("department",)
    readonly_fields = ("patient_uuid", "created_at", "created_by", "updated_at", "updated_by")
    fieldsets = (
        ("Identity", {"fields": ("patient_uuid", "external_id")}),
        ("Demographics", {"fields": (("age", "gender", "race"),)}),
        (
            "Organisation",
            {"fields": (("department", "primary_provider_id"), ("data_source", "is_active"))},
        ),
        ("Financial baseline", {"fields": (("annual_cost", "cost_percentile"),)}),
        ("Record", {"fields": (("created_at", "created_by"), ("updated_at", "updated_by"))}),
    )
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and patients_editable_by(request.user)

    def has_add_permission(self, request) -> bool:
        return super().has_add_permission(request) and patients_editable_by(request.user)

    # Patients are deactivated (is_active), never deleted: their predictions are evidence.

    def save_model(self, request, obj, form, change) -> None:
        actor = f"admin:{request.user.get_username()}"[:50]
        if change:
            obj.updated_by, obj.updated_at = actor, timezone.now()
        else:
            obj.created_by = obj.created_by or actor
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        from predictions.services import patient_saved_in_admin

        predictions = patient_saved_in_admin(
            patient=form.instance,
            created=not change,
            features_changed=any(formset.has_changed() for formset in formsets),
            changed_by=f"admin:{request.user.get_username()}"[:50],
            demographics_changed={
                name: (
                    _shown(name, form.initial.get(name)),
                    _shown(name, form.cleaned_data.get(name)),
                )
                for name in form.changed_data
            },
        )
        if predictions:
            scores = ", ".join(f"{p.prediction_window} {p.risk_score} ({p.tier_label})"
                               for p in predictions)  # fmt: skip
            self.message_user(request, f"Scored under {predictions[0].model_version_id}: {scores}")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Admission)
class AdmissionAdmin(
    PhiAdminMixin, VisibleRecordsAdminMixin, PatientSearchMixin, PatientReferenceMixin,
    ReadOnlyModelAdmin,
):  # fmt: skip
    """Admissions arrive through `import_admissions` and the JSON API (validated, audited);
    the admin lists them."""

    list_display = (
        "patient_uuid", "admission_date", "discharge_date", "stay_cost", "source", "created_by",
    )  # fmt: skip
    list_filter = ("source", "admission_date", department_filter("patient__department"))
    list_select_related = ("patient",)
    actions = (export_selected_csv,)
    date_hierarchy = "admission_date"
    show_full_result_count = False

    @admin.display(description="Patient", ordering="patient__patient_uuid")
    def patient_uuid(self, obj: Admission):
        return obj.patient.patient_uuid
