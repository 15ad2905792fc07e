"""A patient submitted through the API: saved, scored and answered once per key."""

from functools import partial

from django.db import IntegrityError

from patients.departments import department_code_for
from patients.forms import PatientEntryForm
from patients.models import Department, Patient
from patients.services import patient_create
from predictions.models import Prediction
from predictions.services import patient_score_or_defer
from riskplatform.core.idempotency import (
    EXTERNAL_ID_ENDPOINT,
    ApiAnswer,
    SubmissionKey,
    api_submission_answer,
    external_id_conflict,
)
from riskplatform.core.models import ApiClient

PATIENTS_ENDPOINT = "patients"


def patient_submission_answer(
    *,
    api_client: ApiClient,
    form: PatientEntryForm,
    idempotency_key: str | None,
    fingerprint: str,
    changed_by: str,
) -> ApiAnswer:
    """Register and score one validated patient, or give a retry the first answer.

    The keys are the Idempotency-Key and, when the body has one, the external_id: so a retry
    without the header but with the same external_id and body is answered as the first was.
    The patient, their scoring and the kept answer commit together; if scoring fails for
    another reason than a lost connection, the patient is still saved, awaiting scoring.
    """
    external_id = form.demographics()["external_id"]
    keys = [SubmissionKey(PATIENTS_ENDPOINT, idempotency_key)] if idempotency_key else []
    if external_id:
        keys.append(SubmissionKey(EXTERNAL_ID_ENDPOINT, external_id))
    return api_submission_answer(
        api_client=api_client,
        keys=keys,
        fingerprint=fingerprint,
        submit=partial(_patient_submit, form=form, changed_by=changed_by),
    )


def _patient_submit(*, form: PatientEntryForm, changed_by: str) -> ApiAnswer:
    external_id = form.demographics()["external_id"]
    if external_id and Patient.objects.filter(external_id=external_id).exists():
        return external_id_conflict("A patient with this external_id already exists.")
    features = form.features()
    department = form.cleaned_data["department_code"] or Department.objects.get(
        department_code=department_code_for(features)
    )
    try:
        patient = patient_create(
            demographics=form.demographics(), features=features, department=department,
            changed_by=changed_by,
        )  # fmt: skip
    except IntegrityError:
        # Another submission (under another key) saved this external_id meanwhile.
        if external_id and Patient.objects.filter(external_id=external_id).exists():
            return external_id_conflict("A patient with this external_id already exists.")
        raise
    predictions = patient_score_or_defer(patient_id=patient.pk, changed_by=changed_by)
    return ApiAnswer(201, {
        # patient_uuid only: internal ids never leave the system (nor enter a kept answer).
        "patient_uuid": str(patient.patient_uuid),
        "department": department.department_code,
        "scoring_status": "scored" if predictions else "pending",
        "model_version": predictions[0].model_version_id if predictions else None,
        "predictions": {p.prediction_window: _prediction_json(p) for p in predictions or []},
    })  # fmt: skip


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
