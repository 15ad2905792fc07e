"""Small builders for CheckConstraints that recur across tables."""

from collections.abc import Iterable

from django.db.models import CheckConstraint, Q


def between(field: str, low, high, *, name: str, nullable: bool = True) -> CheckConstraint:
    condition = Q(**{f"{field}__gte": low, f"{field}__lte": high})
    if nullable:
        condition |= Q(**{f"{field}__isnull": True})
    return CheckConstraint(condition=condition, name=name)


def at_least(field: str, low, *, name: str, nullable: bool = True) -> CheckConstraint:
    condition = Q(**{f"{field}__gte": low})
    if nullable:
        condition |= Q(**{f"{field}__isnull": True})
    return CheckConstraint(condition=condition, name=name)


def one_of(field: str, values: Iterable, *, name: str, nullable: bool = True) -> CheckConstraint:
    condition = Q(**{f"{field}__in": list(values)})
    if nullable:
        condition |= Q(**{f"{field}__isnull": True})
    return CheckConstraint(condition=condition, name=name)
