"""The admin, scoped by patients/visibility.py: every admin page that lists or shows patient
records starts there, so a care coordinator's lists, searches, filters, exports and change
pages hold only their departments' patients, and another department's record answers 404
(not a redirect that would confirm it exists)."""

from django.contrib import admin
from django.contrib.admin.utils import label_for_field, lookup_field, unquote
from django.http import Http404, HttpRequest
from django.utils import timezone

from patients.models import Department, Patient
from patients.visibility import departments_visible_to, patients_visible_to, records_visible_to
from riskplatform.core.access import phi_shown
from riskplatform.core.csv_safe import csv_download
from riskplatform.core.models import AccessAction


class VisibleRecordsAdminMixin:
    """Put it before the admin's other bases. `visible_department` is the lookup from a
    record to its patient's department (see `records_visible_to`)."""

    visible_department = "patient__department"

    def get_queryset(self, request: HttpRequest):
        records = super().get_queryset(request)
        return records_visible_to(request.user, records, department=self.visible_department)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404(f"No such {opts.verbose_name}.")

    def _visible_or_404(self, request: HttpRequest, object_id: str) -> None:
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404(f"No such {self.model._meta.verbose_name}.")

    def history_view(self, request, object_id, extra_context=None):
        # django-simple-history falls back to the history rows of an object the queryset
        # does not hold, which would show another department's record.
        self._visible_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._visible_or_404(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Department:
            kwargs["queryset"] = departments_visible_to(request.user)
        elif db_field.related_model is Patient:
            kwargs["queryset"] = patients_visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def department_filter(lookup: str) -> tuple:
    """A list filter on a department that offers only the departments of the rows the user
    may see (Django's default offers every department)."""
    return (lookup, admin.RelatedOnlyFieldListFilter)


@admin.action(description="Export selected to CSV", permissions=["view"])
def export_selected_csv(modeladmin, request: HttpRequest, queryset):
    """The selected rows with the change list's columns, formula-safe (riskplatform/core/
    csv_safe.py), logged as an export of the patients they name."""
    opts = modeladmin.model._meta
    columns = [c for c in modeladmin.get_list_display(request) if c != "action_checkbox"]
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response, writer = csv_download(filename=f"{opts.model_name}-{stamp}.csv")
    writer.writerow([str(label_for_field(c, modeladmin.model, modeladmin)) for c in columns])
    records = list(queryset)
    for record in records:
        writer.writerow([_cell(record, column, modeladmin) for column in columns])
    phi_shown(
        request,
        patient_uuids=modeladmin.phi_patients_listed(request, records),
        report=f"admin:{opts.app_label}.{opts.model_name}:export",
        action=AccessAction.EXPORT,
    )
    return response


def _cell(record, column: str, modeladmin):
    _field, _attr, value = lookup_field(column, record, modeladmin)
    return "" if value is None else str(value)
