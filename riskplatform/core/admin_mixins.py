import uuid

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html


class ReadOnlyAdminMixin:
    """For records written only by services (predictions, projections, audit, views)."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ReadOnlyModelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class PatientSearchMixin:
    """Admin search by exact patient_uuid or external_id, for patients and their records.

    A UUID column cannot be searched with LIKE, and an invalid UUID must not error, so the
    term is parsed here instead of listed in `search_fields`.
    """

    patient_path = "patient__"
    search_external_id = True
    search_help_text = "Exact patient UUID or external ID"

    def get_search_fields(self, request: HttpRequest):
        # Non-empty so that the admin shows the search box; the search itself is below.
        return (f"={self.patient_path}patient_uuid",)

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            patient_uuid = uuid.UUID(term)
        except ValueError:
            if not self.search_external_id:
                return queryset.none(), False
            return queryset.filter(**{f"{self.patient_path}external_id": term}), False
        return queryset.filter(**{f"{self.patient_path}patient_uuid": patient_uuid}), False


class PatientReferenceMixin:
    """Shows a record's patient by patient_uuid, linked to the patient page, instead of the
    foreign key (whose read-only rendering links to the internal id)."""

    def get_exclude(self, request: HttpRequest, obj=None):
        return (*(super().get_exclude(request, obj) or ()), "patient")

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return ("patient_page", *super().get_readonly_fields(request, obj))

    @admin.display(description="Patient")
    def patient_page(self, obj) -> str:
        patient_uuid = obj.patient.patient_uuid
        return format_html('<a href="{}">{}</a>', reverse("patient", args=[patient_uuid]),
                           patient_uuid)  # fmt: skip
