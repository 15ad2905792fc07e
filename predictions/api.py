"""POST /api/patients/: an EHR registers a patient and gets the three predictions back.

Idempotent per Idempotency-Key and per external_id (predictions/submissions.py)."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from patients.forms import PatientEntryForm
from predictions.submissions import patient_submission_answer
from riskplatform.core.api_auth import api_actor, api_client_required, api_errors
from riskplatform.core.api_json import InvalidJson, json_body
from riskplatform.core.idempotency import (
    InvalidIdempotencyKey,
    idempotency_key_from,
    request_fingerprint,
)


@require_POST
@api_client_required
def patients_create_view(request: HttpRequest) -> JsonResponse:
    try:
        # Numbers as the text sent: the fields check it ("1e5" is refused, not read as
        # 100000.0), and an integer of any length is a value to refuse, not a ValueError.
        payload = json_body(request, numbers_as_text=True)
    except InvalidJson as exc:
        return api_errors({"__all__": [str(exc)]})
    if not isinstance(payload, dict):
        return api_errors({"__all__": ["The body must be a JSON object of patient fields."]})
    try:
        key = idempotency_key_from(request)
    except InvalidIdempotencyKey as exc:
        return api_errors({"__all__": [str(exc)]})
    form = PatientEntryForm(payload)
    if not form.is_valid():
        return JsonResponse(
            {"errors": {name: list(reasons) for name, reasons in form.errors.items()},
             "fields": form.error_details()},
            status=400,
        )  # fmt: skip
    answer = patient_submission_answer(
        api_client=request.api_client, form=form, idempotency_key=key,
        fingerprint=request_fingerprint(payload), changed_by=api_actor(request),
    )  # fmt: skip
    return JsonResponse(answer.body, status=answer.status)
