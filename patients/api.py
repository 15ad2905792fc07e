"""POST /api/admissions/: an EHR reports admissions (the outcomes predictions are judged
against). One admission object, or {"admissions": [...]}; all rows or none. docs/outcomes.md.
Idempotent per Idempotency-Key (riskplatform/core/idempotency.py).
"""

from functools import partial

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from patients.admissions import AdmissionsRejected, AdmissionsResult, admissions_record
from patients.models import AdmissionSource
from riskplatform.core.api_auth import api_actor, api_client_required, api_errors
from riskplatform.core.api_json import InvalidJson, json_body
from riskplatform.core.idempotency import (
    ApiAnswer,
    InvalidIdempotencyKey,
    SubmissionKey,
    api_submission_answer,
    idempotency_key_from,
    request_fingerprint,
)

ADMISSIONS_ENDPOINT = "admissions"

MAX_ROWS = 5000  # per request: larger loads go through the file import


def _rows(payload) -> list | str:
    """The admission rows of the body, or why the body has none."""
    if not isinstance(payload, dict):
        return 'The body must be a JSON object: one admission or {"admissions": [...]}.'
    if "admissions" not in payload:
        return [payload]
    rows = payload["admissions"]
    if set(payload) != {"admissions"}:
        return '"admissions" cannot be combined with other fields.'
    if not isinstance(rows, list) or not rows:
        return '"admissions" must be a non-empty list of admission objects.'
    if len(rows) > MAX_ROWS:
        return f"At most {MAX_ROWS} admissions per request; import larger sets as a file."
    return rows


def _answer(result: AdmissionsResult) -> dict:
    # patient_uuid only: internal ids never leave the system.
    return {
        "rows": result.rows,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "admissions": [
            {
                "row": a.row,
                "patient_uuid": str(a.patient_uuid),
                "admission_date": a.admission_date.isoformat(),
                "status": a.outcome,
            }
            for a in result.admissions
        ],
    }


@require_POST
@api_client_required
def admissions_create_view(request: HttpRequest) -> JsonResponse:
    try:
        # Numbers as the text sent: a cost of 1234.10 stays exactly that, "1e5" is refused
        # rather than read, and an integer of any length is refused, not a ValueError.
        payload = json_body(request, numbers_as_text=True)
    except InvalidJson as exc:
        return api_errors({"__all__": [str(exc)]})
    rows = _rows(payload)
    if isinstance(rows, str):
        return api_errors({"__all__": [rows]})
    try:
        key = idempotency_key_from(request)
    except InvalidIdempotencyKey as exc:
        return api_errors({"__all__": [str(exc)]})
    answer = api_submission_answer(
        api_client=request.api_client,
        keys=[SubmissionKey(ADMISSIONS_ENDPOINT, key)] if key else [],
        fingerprint=request_fingerprint(payload),
        submit=partial(_admissions_submit, rows=rows, changed_by=api_actor(request)),
    )
    return JsonResponse(answer.body, status=answer.status)


def _admissions_submit(*, rows: list, changed_by: str) -> ApiAnswer:
    try:
        result = admissions_record(rows=rows, changed_by=changed_by, source=AdmissionSource.API)
    except AdmissionsRejected as rejected:
        return ApiAnswer(400, {"errors": {
            "__all__": [str(rejected)],
            "rows": [
                {"row": e.row, "field": e.column, "value": e.value, "reason": e.reason}
                for e in rejected.errors
            ],
        }})  # fmt: skip
    return ApiAnswer(201, _answer(result))
