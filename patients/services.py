from typing import Any

from django.db import transaction
from django.utils import timezone

from patients.feature_contract import CURRENT_VERSION
from patients.models import DataSource, Department, Patient, PatientFeatures
from riskplatform.core.models import AuditEvent
from riskplatform.core.services import audit_event_record

PATIENT_FIELDS = ("external_id", "age", "gender", "race", "annual_cost", "cost_percentile")


@transaction.atomic
def patient_create(
    *,
    demographics: dict[str, Any],
    features: dict[str, Any],
    department: Department,
    changed_by: str,
    data_source: str = DataSource.NEW_PATIENT,
) -> Patient:
    """Register one new patient with their feature vector (a PATIENT_ADDED event and
    history rows, in one transaction). Scoring is the caller's next step."""
    patient = Patient.objects.create(
        **{name: demographics.get(name) for name in PATIENT_FIELDS},
        department=department,
        data_source=data_source,
        created_by=changed_by,
    )
    PatientFeatures.objects.create(patient=patient, feature_version=CURRENT_VERSION, **features)
    patient_added_record(patient=patient, changed_by=changed_by)
    return patient


def patient_added_record(*, patient: Patient, changed_by: str) -> None:
    audit_event_record(
        event_type=AuditEvent.PATIENT_ADDED,
        changed_by=changed_by,
        entity_type="PATIENT",
        entity_id=patient.pk,
        new_values={
            "patient_uuid": str(patient.patient_uuid),
            "age": patient.age,
            "gender": patient.gender,
            "race": patient.race,
            "department": patient.department.department_code,
            "data_source": patient.data_source,
        },
    )


@transaction.atomic
def patient_features_update(
    *, patient: Patient, features: dict[str, Any], changed_by: str
) -> PatientFeatures:
    """Change a patient's features (history kept, FEATURES_UPDATED with old and new values);
    `updated_at` makes the patient due for re-scoring."""
    current = PatientFeatures.objects.select_for_update().get(patient=patient)
    old = {name: getattr(current, name) for name in features}
    for name, value in features.items():
        setattr(current, name, value)
    current.updated_at = timezone.now()
    current.feature_version = CURRENT_VERSION
    current._change_reason = f"updated by {changed_by}"
    current.save()
    audit_event_record(
        event_type=AuditEvent.FEATURES_UPDATED,
        changed_by=changed_by,
        entity_type="PATIENT",
        entity_id=patient.pk,
        old_values=old,
        new_values=dict(features),
    )
    return current
