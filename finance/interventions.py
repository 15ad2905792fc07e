"""Recording what coordinators did for a patient (services: write, audited, history kept).

Each write is one transaction holding the intervention, its simple-history row and its
INTERVENTION_RECORDED audit row (which names the patient by patient_uuid only). A late entry
changes what was realised, so the patient's evaluated projections are re-realised in the same
transaction (finance/realisation.py)."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from finance.models import FinancialProjection, Intervention, InterventionStatus, InterventionType
from finance.realisation import projections_realise
from patients.models import Patient
from predictions.models import Prediction
from riskplatform.core.models import AuditEvent
from riskplatform.core.services import audit_event_record

FUTURE_DATE_ERROR = "Only a planned intervention can be dated in the future."
# Fields a coordinator may change after recording; the patient and the prompting prediction
# are fixed (an intervention on the wrong patient is recorded anew, and this one declined).
EDITABLE_FIELDS = ("intervention_type", "status", "intervention_date", "cost_spent", "notes")


def intervention_validate(
    *,
    patient: Patient,
    prediction: Prediction | None,
    intervention_type: str,
    status: str,
    intervention_date: date,
    cost_spent: Decimal | None,
) -> None:
    """Raise ValidationError (keyed by field, so a form can show it) for an impossible entry."""
    errors: dict[str, str] = {}
    if intervention_type not in InterventionType.values:
        errors["intervention_type"] = "Unknown intervention type."
    if status not in InterventionStatus.values:
        errors["status"] = "Unknown status."
    elif status != InterventionStatus.PLANNED and intervention_date > timezone.localdate():
        # Only a plan may lie ahead: what was done, declined or attempted has happened.
        errors["intervention_date"] = FUTURE_DATE_ERROR
    if cost_spent is not None and cost_spent < 0:
        errors["cost_spent"] = "The cost spent cannot be negative."
    if prediction is not None and prediction.patient_id != patient.pk:
        errors["prediction"] = "This prediction belongs to another patient."
    if errors:
        raise ValidationError(errors)


def _audit_values(intervention: Intervention, fields: tuple[str, ...]) -> dict[str, Any]:
    # The notes are free text (possibly clinical): the audit log says they changed, not what.
    return {
        name: ("(set)" if intervention.notes else "")
        if name == "notes"
        else getattr(intervention, name)
        for name in fields
    }


def _audit(
    *,
    intervention: Intervention,
    patient: Patient,
    changed_by: str,
    action: str,
    old_values: dict[str, Any] | None,
    new_values: dict[str, Any],
) -> None:
    prediction = intervention.prediction
    audit_event_record(
        event_type=AuditEvent.INTERVENTION_RECORDED,
        changed_by=changed_by,
        entity_type="INTERVENTION",
        entity_id=intervention.pk,  # the intervention's own key; the patient only by uuid
        old_values=old_values,
        new_values={
            "action": action,
            "intervention_uuid": str(intervention.intervention_uuid),
            "patient_uuid": str(patient.patient_uuid),
            **new_values,
        },
        model_version=prediction.model_version_id if prediction else None,
        prediction_window=prediction.prediction_window if prediction else None,
    )


def _realised_again(*, patient: Patient, changed_by: str) -> int:
    """Re-realise the patient's evaluated projections, so that realised savings follow an
    intervention entered (or corrected) after the outcome was written."""
    prediction_ids = list(
        FinancialProjection.objects.filter(
            patient=patient, prediction__outcome__isnull=False
        ).values_list("prediction_id", flat=True)
    )
    return projections_realise(prediction_ids=prediction_ids, changed_by=changed_by)


@transaction.atomic
def intervention_record(
    *,
    patient: Patient,
    prediction: Prediction | None,
    intervention_type: str,
    status: str,
    intervention_date: date,
    cost_spent: Decimal | None,
    notes: str,
    recorded_by: str,
) -> Intervention:
    """Record one intervention (planned, done, declined or unreachable) for `patient`,
    optionally prompted by `prediction` (which must be the patient's)."""
    intervention_validate(
        patient=patient,
        prediction=prediction,
        intervention_type=intervention_type,
        status=status,
        intervention_date=intervention_date,
        cost_spent=cost_spent,
    )
    intervention = Intervention(
        patient=patient,
        prediction=prediction,
        intervention_type=intervention_type,
        status=status,
        intervention_date=intervention_date,
        cost_spent=cost_spent,
        notes=notes,
        recorded_by=recorded_by,
        updated_at=timezone.now(),
    )
    intervention._change_reason = f"recorded by {recorded_by}"
    intervention.save()
    intervention.refresh_from_db(fields=["intervention_uuid"])  # set by the database
    _audit(
        intervention=intervention,
        patient=patient,
        changed_by=recorded_by,
        action="recorded",
        old_values=None,
        new_values=_audit_values(intervention, EDITABLE_FIELDS),
    )
    _realised_again(patient=patient, changed_by=recorded_by)
    return intervention


@transaction.atomic
def intervention_update(
    *,
    intervention: Intervention,
    intervention_type: str,
    status: str,
    intervention_date: date,
    cost_spent: Decimal | None,
    notes: str,
    recorded_by: str,
) -> Intervention:
    """Change an intervention (a plan that was done, a corrected cost). `recorded_by` is the
    editor: named in the history row and the audit row; the original recorder is kept.
    Nothing is written when nothing changes."""
    current = (
        Intervention.objects.select_for_update(of=("self",))
        .select_related("patient", "prediction")
        .get(pk=intervention.pk)
    )
    patient = current.patient
    intervention_validate(
        patient=patient,
        prediction=current.prediction,
        intervention_type=intervention_type,
        status=status,
        intervention_date=intervention_date,
        cost_spent=cost_spent,
    )
    wanted = {
        "intervention_type": intervention_type,
        "status": status,
        "intervention_date": intervention_date,
        "cost_spent": cost_spent,
        "notes": notes,
    }
    changed = tuple(name for name, value in wanted.items() if getattr(current, name) != value)
    if not changed:
        return current
    old = _audit_values(current, changed)
    for name in changed:
        setattr(current, name, wanted[name])
    current.updated_at = timezone.now()
    current._change_reason = f"updated by {recorded_by}"
    current.save()
    _audit(
        intervention=current,
        patient=patient,
        changed_by=recorded_by,
        action="updated",
        old_values=old,
        new_values=_audit_values(current, changed),
    )
    _realised_again(patient=patient, changed_by=recorded_by)
    return current
