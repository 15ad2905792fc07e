import uuid
from collections.abc import Iterable

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from riskplatform.core.access import phi_logged, phi_shown
from riskplatform.core.models import AccessAction


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


class HistoryAdmin(SimpleHistoryAdmin):
    """django-simple-history's admin, whose history pages answer 404, not 500, for an id
    that is not one (`/admin/…/²/history/`: it filters by the raw text, and int() fails)."""

    def _pk_or_404(self, model, value: str) -> None:
        try:
            model._meta.pk.to_python(unquote(value))
        except ValidationError:
            raise Http404(f"{value!r} is not an id.") from None

    def history_view(self, request, object_id, extra_context=None):
        self._pk_or_404(self.model, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._pk_or_404(self.model, object_id)
        self._pk_or_404(self.model.history.model, version_id)
        return super().history_form_view(request, object_id, version_id, extra_context)


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


class PhiAdminMixin:
    """For every admin whose pages show patient data: the change list (its search too), the
    change page, the history pages and the delete confirmation each write an access event
    (riskplatform/core/access.py) naming the patients on the page. Put it first among the
    bases, so that it wraps the whole view.

    `phi_patient` is the attribute path from a record to its patient's uuid; admins whose
    records name patients otherwise override `phi_patients_listed` / `phi_patients_shown`.
    """

    phi_patient = "patient.patient_uuid"

    def phi_patients_listed(self, request: HttpRequest, records) -> Iterable:
        """The patients a change list page shows for `records` (the page's rows)."""
        for record in records:
            value = record
            for name in self.phi_patient.split("."):
                value = getattr(value, name, None)
            if value is not None:
                yield value

    def phi_patients_shown(self, request: HttpRequest, record) -> Iterable:
        """The patients the change, history or delete page of `record` shows."""
        return self.phi_patients_listed(request, [record])

    def _phi_page(self, page: str, view, request: HttpRequest, *args, object_id=None, **kwargs):
        opts = self.model._meta
        report = f"admin:{opts.app_label}.{opts.model_name}:{page}"

        @phi_logged(AccessAction.ADMIN_VIEW, report=report)
        def logged(request):
            response = view(request, *args, **kwargs)
            if not 200 <= response.status_code < 300:
                return response
            if object_id is None:
                cl = (getattr(response, "context_data", None) or {}).get("cl")
                shown = self.phi_patients_listed(request, cl.result_list) if cl else ()
            else:
                record = self.get_object(request, unquote(object_id))
                shown = self.phi_patients_shown(request, record) if record is not None else ()
            phi_shown(request, patient_uuids=shown)
            return response

        return logged(request)

    def changelist_view(self, request, extra_context=None):
        return self._phi_page("changelist", super().changelist_view, request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        view = super().change_view
        return self._phi_page(
            "change", view, request, object_id, form_url, extra_context, object_id=object_id
        )

    def history_view(self, request, object_id, extra_context=None):
        view = super().history_view
        return self._phi_page(
            "history", view, request, object_id, extra_context, object_id=object_id
        )

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # django-simple-history's page of one past version (only its admins route here).
        view = super().history_form_view
        return self._phi_page(
            "history-version", view, request, object_id, version_id, extra_context,
            object_id=object_id,
        )  # fmt: skip

    def delete_view(self, request, object_id, extra_context=None):
        view = super().delete_view
        return self._phi_page(
            "delete", view, request, object_id, extra_context, object_id=object_id
        )
