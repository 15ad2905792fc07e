"""Who may see which patients: decided here and nowhere else. Admin querysets, pages,
reports and exports all start from these functions.

- Platform admin (superuser or the "Platform admin" group): every patient, identifiers too.
- Analyst: every patient, de-identified (no external_id, age in bands).
- Care coordinator: the patients of the departments they are assigned to, identifiers too.
- Anyone else: nobody.

Dates follow the same line: coordinators and admins see a patient's dates to the day and
minute, analysts to the month (`exact_dates_visible_to`, `patient_date`; templates use the
`{% patient_date %}` tag of riskplatform/core/templatetags/patient_dates.py).
"""

from datetime import date, datetime
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils import dateformat, timezone

from patients.models import Department, Patient
from riskplatform.core.roles import Role


def role_of(user: User | AnonymousUser) -> Role | None:
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.PLATFORM_ADMIN
    if not hasattr(user, "_role_names"):
        user._role_names = set(user.groups.values_list("name", flat=True))  # once per request
    for role in (Role.PLATFORM_ADMIN, Role.ANALYST, Role.COORDINATOR):
        if str(role) in user._role_names:
            return role
    return None


def departments_visible_to(user: User | AnonymousUser) -> QuerySet[Department]:
    role = role_of(user)
    if role in (Role.PLATFORM_ADMIN, Role.ANALYST):
        return Department.objects.all()
    if role == Role.COORDINATOR:
        return Department.objects.filter(coordinators=user)
    return Department.objects.none()


def patients_visible_to(user: User | AnonymousUser) -> QuerySet[Patient]:
    role = role_of(user)
    if role in (Role.PLATFORM_ADMIN, Role.ANALYST):
        return Patient.objects.all()
    if role == Role.COORDINATOR:
        return Patient.objects.filter(department__coordinators=user)
    return Patient.objects.none()


def records_visible_to(
    user: User | AnonymousUser, records: QuerySet, *, department: str = "patient__department"
) -> QuerySet:
    """`records` (patients, admissions, predictions, interventions, report rows) narrowed
    to the departments whose patients `user` may see; `department` is the lookup from a
    record to its patient's department ("department" for patients, "department_id" for a
    view's plain column)."""
    if role_of(user) in (Role.PLATFORM_ADMIN, Role.ANALYST):
        return records
    return records.filter(**{f"{department}__in": departments_visible_to(user).values("pk")})


def identifiers_visible_to(user: User | AnonymousUser) -> bool:
    """Whether external_id (the hospital's own patient number) and exact age may be shown."""
    return role_of(user) in (Role.PLATFORM_ADMIN, Role.COORDINATOR)


def patients_editable_by(user: User | AnonymousUser) -> bool:
    """Whether the admin lets `user` change a visible patient's record and features:
    platform admins always; care coordinators where the hospital allows it
    (COORDINATOR_FEATURE_EDITS); nobody else."""
    role = role_of(user)
    if role == Role.PLATFORM_ADMIN:
        return True
    return role == Role.COORDINATOR and settings.COORDINATOR_FEATURE_EDITS


def exact_dates_visible_to(user: User | AnonymousUser) -> bool:
    """Whether a patient's dates (admissions, interventions, scores, record changes) are
    shown to the day and time; otherwise to the month. Report- and model-level stamps (views
    refreshed, model promoted, monitoring run) are nobody's health data and stay exact."""
    return identifiers_visible_to(user)


def patient_date(value: date | datetime | None, *, exact: bool, time: bool = False) -> str:
    """A patient's date as shown: "2026-12-01" (with `time`, "2026-12-01 20:41") when exact,
    otherwise its month, "December 2026". Times are in the platform's time zone."""
    if value is None:
        return ""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    if not exact:
        return dateformat.format(value, "F Y")
    with_time = time and isinstance(value, datetime)
    return dateformat.format(value, "Y-m-d H:i" if with_time else "Y-m-d")


def age_band(age: int) -> str:
    if age >= 90:
        return "90+"
    low = age // 10 * 10
    return f"{low}-{low + 9}"


def role_required(*roles: Role):
    """Login, then one of `roles` (any role when none is given); otherwise 403."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            role = role_of(request.user)
            if role is None or (roles and role not in roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
