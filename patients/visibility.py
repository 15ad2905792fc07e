"""Who may see which patients: decided here and nowhere else. Admin querysets, pages,
reports and exports all start from these functions.

- Platform admin (superuser or the "Platform admin" group): every patient, identifiers too.
- Analyst: every patient, de-identified (no external_id, age in bands).
- Care coordinator: the patients of the departments they are assigned to, identifiers too.
- Anyone else: nobody.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

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


def identifiers_visible_to(user: User | AnonymousUser) -> bool:
    """Whether external_id (the hospital's own patient number) and exact age may be shown."""
    return role_of(user) in (Role.PLATFORM_ADMIN, Role.COORDINATOR)


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
