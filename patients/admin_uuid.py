"""The patient admin, addressed by patient_uuid: the internal patient_id appears in no URL,
link, form field or log entry of the admin site (issue 5: no internal id leaves the system).

Django's admin addresses an object by its primary key in several places; each is replaced
here: the change URL lookup, the change-list links, the add response, the admin log (whose
"recent actions" links are built from the logged object id), the inline's hidden foreign
key, and the history link of the change form (template
admin/patients/patient/change_form_object_tools.html).
"""

import json
import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.admin.options import IS_POPUP_VAR, get_content_type_for_model
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.forms import BaseInlineFormSet, HiddenInput
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from patients.models import Patient


def patient_admin_url(patient: Patient) -> str:
    return reverse("admin:patients_patient_change", args=[str(patient.patient_uuid)])


class _UuidChangeList(ChangeList):
    def url_for_result(self, result: Patient) -> str:
        return patient_admin_url(result)


class _ParentNotRendered(HiddenInput):
    """The inline's link to its patient: the formset already knows the patient, so the
    browser need not carry its id (InlineForeignKeyField takes an empty value as the
    parent)."""

    def render(self, name, value, attrs=None, renderer=None) -> str:
        return ""

    def value_from_datadict(self, data, files, name):
        return None


class PatientInlineFormSet(BaseInlineFormSet):
    def add_fields(self, form, index) -> None:
        super().add_fields(form, index)
        form.fields[self.fk.name].widget = _ParentNotRendered()


class PatientUuidAdmin(admin.ModelAdmin):
    view_on_site = False

    def action_checkbox(self, obj: Patient) -> str:
        # Django's checkbox carries the primary key; this one the patient_uuid, turned back
        # into keys in response_action.
        attrs = {"class": "action-select", "aria-label": f"Select patient {obj.patient_uuid}"}
        checkbox = forms.CheckboxInput(attrs, lambda value: False)
        return checkbox.render(helpers.ACTION_CHECKBOX_NAME, str(obj.patient_uuid))

    def response_action(self, request, queryset):
        uuids = []
        for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
            try:
                uuids.append(uuid.UUID(value))
            except ValueError:
                continue  # not a patient of this page: selects nothing
        keys = queryset.filter(patient_uuid__in=uuids).values_list("pk", flat=True)
        post = request.POST.copy()
        post.setlist(helpers.ACTION_CHECKBOX_NAME, [str(key) for key in keys])
        request.POST = post
        return super().response_action(request, queryset)

    def get_changelist(self, request, **kwargs):
        return _UuidChangeList

    def get_object(self, request, object_id: str, from_field=None) -> Patient | None:
        try:
            return self.get_queryset(request).get(patient_uuid=object_id)
        except (Patient.DoesNotExist, ValidationError, ValueError):
            return None

    def changelist_view(self, request, extra_context=None):
        # Raw-id pop-ups hand the picked row's primary key to the opener; patients are
        # never picked that way (other admins show them read-only, by uuid).
        if IS_POPUP_VAR in request.GET:
            return HttpResponseBadRequest("Patients cannot be picked in a pop-up.")
        return super().changelist_view(request, extra_context)

    def response_add(self, request, obj: Patient, post_url_continue=None):
        url = patient_admin_url(obj)
        self.message_user(
            request,
            format_html('The patient “<a href="{}">{}</a>” was added.', url, obj),
            messages.SUCCESS,
        )
        if "_continue" in request.POST:
            return HttpResponseRedirect(url)
        if "_addanother" in request.POST:
            return HttpResponseRedirect(request.path)
        return HttpResponseRedirect(reverse("admin:patients_patient_changelist"))

    def _log(self, request, obj: Patient, flag: int, message) -> LogEntry:
        return LogEntry.objects.create(
            user_id=request.user.pk,
            content_type=get_content_type_for_model(obj),
            object_id=str(obj.patient_uuid),
            object_repr=str(obj)[:200],
            action_flag=flag,
            change_message=json.dumps(message) if isinstance(message, list) else message,
        )

    def log_addition(self, request, obj, message):
        return self._log(request, obj, ADDITION, message)

    def log_change(self, request, obj, message):
        return self._log(request, obj, CHANGE, message)
