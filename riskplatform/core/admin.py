import uuid

from django.contrib import admin
from django.db.models import Case, OuterRef, Subquery, When

from patients.models import Patient
from riskplatform.core.admin_mixins import PhiAdminMixin, ReadOnlyModelAdmin
from riskplatform.core.models import AccessEvent, ApiClient, AuditLog


@admin.register(AuditLog)
class AuditLogAdmin(PhiAdminMixin, ReadOnlyModelAdmin):
    """A patient event names its patient by patient_uuid: `entity_id` holds the internal id
    (a stable key inside the database) and is not shown. Patient events carry demographics
    (old and new values), so the pages are logged."""

    phi_patient = "_patient_uuid"

    exclude = ("entity_id",)
    readonly_fields = ("entity",)
    list_display = (
        "changed_at",
        "event_type",
        "entity_type",
        "entity",
        "model_version",
        "prediction_window",
        "changed_by",
    )
    list_filter = ("event_type", "entity_type", "model_version", "prediction_window")
    search_fields = ("changed_by", "entity_type")
    date_hierarchy = "changed_at"
    show_full_result_count = False

    def get_queryset(self, request):
        patient_uuid = Patient.objects.filter(patient_id=OuterRef("entity_id")).values(
            "patient_uuid"
        )[:1]
        return (
            super()
            .get_queryset(request)
            .annotate(
                _patient_uuid=Case(
                    When(entity_type="PATIENT", then=Subquery(patient_uuid)), default=None
                )
            )
        )

    def phi_patients_shown(self, request, record):
        # The change page also shows the values, which may name a patient (interventions).
        yield from self.phi_patients_listed(request, [record])
        for values in (record.old_values, record.new_values):
            if isinstance(values, dict) and values.get("patient_uuid"):
                yield values["patient_uuid"]

    @admin.display(description="Entity")
    def entity(self, obj: AuditLog):
        if obj.entity_type == "PATIENT":
            return obj._patient_uuid
        return obj.entity_id


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    """Clients are created with `manage.py api_client_create` (which shows the token once);
    here they can be disabled."""

    list_display = ("name", "is_active", "created_at", "last_used_at")
    list_filter = ("is_active",)
    fields = ("name", "is_active", "created_at", "last_used_at")
    readonly_fields = ("name", "created_at", "last_used_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(AccessEvent)
class AccessEventAdmin(PhiAdminMixin, ReadOnlyModelAdmin):
    """The PHI access log: read-only here, append-only in PostgreSQL. Reading it is logged
    too; an event's page names the patients it lists, the change list only counts them."""

    list_display = ("occurred_at", "username", "action", "report", "patient_count", "ip_address")
    list_filter = ("action", "occurred_at")
    search_fields = ("username", "report", "path")
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    def phi_patients_listed(self, request, records):
        return ()

    def phi_patients_shown(self, request, record):
        return record.patient_uuids

    def get_search_results(self, request, queryset, search_term):
        # A patient_uuid finds every event that showed that patient (GIN index).
        try:
            return queryset.filter(patient_uuids__contains=[uuid.UUID(search_term.strip())]), False
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
