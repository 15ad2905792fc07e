from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from patients.feature_contract import CURRENT_VERSION
from patients.models import DataSource, Department, Patient, PatientFeatures
from riskplatform.core.models import AuditEvent
from riskplatform.core.roles import Role
from riskplatform.core.services import audit_event_record

if TYPE_CHECKING:
    from django.contrib.auth.models import User

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


@transaction.atomic
def user_create(
    *, username: str, email: str, role: Role, department_codes: list[str], changed_by: str
) -> "User":
    """A new user in one role, without a password: they choose one through an invitation
    link (`riskplatform/core/invitations.py`), so no password is ever typed or shown by
    whoever creates the account. Audited as the role assignment of a user who had none."""
    from django.contrib.auth.models import User

    if User.objects.filter(username=username).exists():
        raise ValueError(f"user {username!r} already exists; change their role with role_assign")
    user = User.objects.create_user(username=username, email=email or "")
    user_role_assign(
        username=username, role=role, department_codes=department_codes, changed_by=changed_by
    )
    return user


@transaction.atomic
def user_role_assign(
    *, username: str, role: Role, department_codes: list[str], changed_by: str
) -> None:
    """Put a user in exactly one role; a care coordinator is (re)assigned to exactly the
    given departments, other roles to none. Audited."""
    from django.contrib.auth.models import Group, User

    user = User.objects.get(username=username)
    departments = list(Department.objects.filter(department_code__in=department_codes))
    unknown = set(department_codes) - {d.department_code for d in departments}
    if unknown:
        raise ValueError(f"unknown department codes: {', '.join(sorted(unknown))}")
    if role == Role.COORDINATOR and not departments:
        raise ValueError("a care coordinator needs at least one department")
    old = {
        "roles": sorted(user.groups.filter(name__in=[str(r) for r in Role]).values_list(
            "name", flat=True)),
        "departments": sorted(user.coordinated_departments.values_list(
            "department_code", flat=True)),
    }  # fmt: skip
    user.groups.remove(*Group.objects.filter(name__in=[str(r) for r in Role]))
    user.groups.add(Group.objects.get(name=str(role)))
    user.coordinated_departments.set(departments if role == Role.COORDINATOR else [])
    # The admin site needs is_staff: coordinators use it for their departments' patients;
    # analysts work in the de-identified workspace pages only.
    user.is_staff = role in (Role.PLATFORM_ADMIN, Role.COORDINATOR) or user.is_superuser
    user.save(update_fields=["is_staff"])
    audit_event_record(
        event_type=AuditEvent.ROLE_ASSIGNED,
        changed_by=changed_by,
        entity_type="USER",
        entity_id=user.pk,
        old_values=old,
        new_values={"roles": [str(role)], "departments": sorted(department_codes)},
    )
