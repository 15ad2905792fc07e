"""POST /api/patients/: an EHR registers a patient and gets the three predictions back."""

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from patients.departments import department_code_for
from patients.forms import PatientEntryForm
from patients.models import Department, Patient
from patients.services import patient_create
from predictions.models import Prediction
from predictions.services import patient_score_or_defer
from riskplatform.core.api_auth import api_actor, api_client_required, api_errors


def _money(value) -> str | None:
    # Decimal as a string: JSON numbers would round money through binary floats.
    return None if value is None else str(value)


def _prediction_json(prediction: Prediction) -> dict:
    projection = prediction.projection
    return {
        "risk_score": float(prediction.risk_score),
        "risk_tier": prediction.risk_tier,
        "tier_label": prediction.tier_label,
        "intervention_cost": _money(projection.intervention_cost),
        "expected_savings": _money(projection.expected_savings),
        "net_benefit": _money(projection.net_benefit),
        "roi_percentage": _money(projection.roi_percentage),
        "roi_category": projection.roi_category,
    }


@require_POST
@api_client_required
def patients_create_view(request: HttpRequest) -> JsonResponse:
    try:
        payload = json.loads(request.body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return api_errors({"__all__": ["The body is not valid JSON."]})
    if not isinstance(payload, dict):
        return api_errors({"__all__": ["The body must be a JSON object of patient fields."]})
    form = PatientEntryForm(payload)
    if not form.is_valid():
        return api_errors({field: list(messages) for field, messages in form.errors.items()})
    external_id = form.demographics()["external_id"]
    if external_id and _external_id_taken(external_id):
        return api_errors({"external_id": ["A patient with this external_id already exists."]})

    actor = api_actor(request)
    features = form.features()
    department = form.cleaned_data["department_code"] or Department.objects.get(
        department_code=department_code_for(features)
    )
    patient = patient_create(
        demographics=form.demographics(), features=features, department=department,
        changed_by=actor,
    )  # fmt: skip
    predictions = patient_score_or_defer(patient_id=patient.pk, changed_by=actor)
    body = {
        "patient_uuid": str(patient.patient_uuid),
        "department": department.department_code,
        "scoring_status": "scored" if predictions else "pending",
        "model_version": predictions[0].model_version_id if predictions else None,
        "predictions": {p.prediction_window: _prediction_json(p) for p in predictions or []},
    }
    return JsonResponse(body, status=201)


def _external_id_taken(external_id: str) -> bool:
    return Patient.objects.filter(external_id=external_id).exists()
