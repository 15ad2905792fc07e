"""Recording and correcting interventions: coordinators (their departments' patients) and
platform admins. Analysts read de-identified data only, so they are refused (403); a patient
outside the user's departments does not exist for them (404). Pages that show a patient
write an access event (`phi_logged`); a successful POST redirects to the patient page, which
writes its own.
"""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from finance.forms import InterventionForm
from finance.interventions import intervention_record, intervention_update
from finance.models import Intervention, InterventionStatus
from finance.selectors import prompting_prediction
from patients.visibility import patients_visible_to, role_required
from riskplatform.core.access import phi_logged, phi_shown
from riskplatform.core.models import AccessAction
from riskplatform.core.roles import Role

RECORDERS = (Role.COORDINATOR, Role.PLATFORM_ADMIN)


def _patient_page(patient) -> str:
    return reverse("patient", args=[patient.patient_uuid]) + "#interventions"


def _saved(form: InterventionForm, service, **arguments) -> bool:
    """Call the service with the form's values; its ValidationError becomes field errors."""
    try:
        service(**arguments, **{name: form.cleaned_data[name] for name in form.Meta.fields})
    except ValidationError as error:
        form.add_error(None, error)
        return False
    return True


def _render(request, *, patient, form, report: str, **context):
    phi_shown(request, report=report, patient_uuids=[patient.patient_uuid])
    return render(
        request, "finance/intervention_form.html", {"patient": patient, "form": form, **context}
    )


@role_required(*RECORDERS)
@phi_logged(AccessAction.PATIENT_VIEW)
def intervention_new_view(request, patient_uuid):
    patient = get_object_or_404(
        patients_visible_to(request.user).select_related("department"), patient_uuid=patient_uuid
    )
    window = request.POST.get("window") or request.GET.get("window", "")
    prediction = prompting_prediction(patient=patient, window=window)
    if request.method == "POST":
        form = InterventionForm(request.POST)
        if form.is_valid() and _saved(
            form,
            intervention_record,
            patient=patient,
            prediction=prediction,
            recorded_by=request.user.get_username(),
        ):
            return redirect(_patient_page(patient))
    else:
        form = InterventionForm(
            initial={"status": InterventionStatus.DONE, "intervention_date": timezone.localdate()}
        )
    return _render(
        request,
        patient=patient,
        form=form,
        report="intervention-new",
        prediction=prediction,
        window=window if prediction else "",
    )


@role_required(*RECORDERS)
@phi_logged(AccessAction.PATIENT_VIEW)
def intervention_edit_view(request, intervention_uuid):
    intervention = get_object_or_404(
        Intervention.objects.filter(patient__in=patients_visible_to(request.user)).select_related(
            "patient__department", "prediction"
        ),
        intervention_uuid=intervention_uuid,
    )
    patient = intervention.patient
    if request.method == "POST":
        form = InterventionForm(request.POST, instance=intervention)
        if form.is_valid() and _saved(
            form,
            intervention_update,
            intervention=intervention,
            recorded_by=request.user.get_username(),
        ):
            return redirect(_patient_page(patient))
    else:
        form = InterventionForm(instance=intervention)
    history = intervention.history.order_by("-history_date", "-history_id")
    return _render(
        request,
        patient=patient,
        form=form,
        report="intervention-edit",
        intervention=intervention,
        prediction=intervention.prediction,
        history=list(history),
    )
