"""The coordinator's admin action on selected patients: record one intervention for each,
through the service the workspace uses (finance/interventions.py), all or nothing."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.template.response import TemplateResponse

from finance.forms import InterventionForm
from finance.interventions import intervention_record
from finance.selectors import prompting_prediction
from riskplatform.core.access import phi_shown
from riskplatform.core.windows import PredictionWindow


class InterventionActionForm(InterventionForm):
    window = forms.ChoiceField(
        label="Prompted by the current prediction for",
        choices=PredictionWindow.choices,
        initial=PredictionWindow.DAYS_30,
        help_text="Its projection is what the intervention's realised savings are set against.",
    )

    class Meta(InterventionForm.Meta):
        fields = ("window", *InterventionForm.Meta.fields)


@admin.action(description="Record an intervention for the selected patients",
              permissions=["record_intervention"])  # fmt: skip
def record_intervention(modeladmin, request: HttpRequest, queryset):
    patients = list(queryset.order_by("patient_uuid"))
    form = InterventionActionForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        try:
            _record_for_all(request, patients, form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            modeladmin.message_user(
                request, f"Recorded a {form.cleaned_data['intervention_type'].lower()} "
                f"intervention for {len(patients)} patient(s).", messages.SUCCESS,
            )  # fmt: skip
            return None  # back to the change list
    phi_shown(request, patient_uuids=[p.patient_uuid for p in patients])
    return TemplateResponse(
        request,
        "admin/finance/record_intervention.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": "Record an intervention",
            "opts": modeladmin.model._meta,
            "patients": patients,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        },
    )


@transaction.atomic
def _record_for_all(request: HttpRequest, patients: list, data: dict) -> None:
    recorded_by = f"admin:{request.user.get_username()}"[:50]
    for patient in patients:
        intervention_record(
            patient=patient,
            prediction=prompting_prediction(patient=patient, window=data["window"]),
            intervention_type=data["intervention_type"],
            status=data["status"],
            intervention_date=data["intervention_date"],
            cost_spent=data["cost_spent"],
            notes=data["notes"],
            recorded_by=recorded_by,
        )
