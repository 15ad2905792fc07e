"""Who sees which patients: one role x department matrix, including an unrelated department
and a user with no role."""

import pytest
from django.contrib.auth.models import User

from patients.models import Department
from patients.visibility import (
    departments_visible_to,
    identifiers_visible_to,
    patients_visible_to,
    role_of,
)
from riskplatform.core.roles import Role
from tests.factories import PatientFactory, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def hospital():
    """Two patients in each of CARDIO, ONCOLOGY and NEPHRO."""
    return {
        code: {
            PatientFactory(department=Department.objects.get(department_code=code)).patient_uuid
            for _ in range(2)
        }
        for code in ("CARDIO", "ONCOLOGY", "NEPHRO")
    }


def _users():
    return {
        "cardio coordinator": user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)),
        "cardio+nephro coordinator": user_with_role("two", Role.COORDINATOR, ("CARDIO", "NEPHRO")),
        "analyst": user_with_role("ana", Role.ANALYST),
        "platform admin": user_with_role("boss", Role.PLATFORM_ADMIN),
        "no role": User.objects.create_user("nobody", password="a-long-test-passphrase-0042"),
    }


EXPECTED = {
    # user: (departments whose patients are visible, identifiers shown)
    "cardio coordinator": ({"CARDIO"}, True),
    "cardio+nephro coordinator": ({"CARDIO", "NEPHRO"}, True),
    "analyst": ({"CARDIO", "ONCOLOGY", "NEPHRO"}, False),
    "platform admin": ({"CARDIO", "ONCOLOGY", "NEPHRO"}, True),
    "no role": (set(), False),
}


def test_role_by_department_matrix(hospital):
    users = _users()
    for name, (departments, identifiers) in EXPECTED.items():
        user = users[name]
        seen = set(patients_visible_to(user).values_list("patient_uuid", flat=True))
        expected = set().union(*(hospital[code] for code in departments))
        assert seen == expected, name
        assert identifiers_visible_to(user) is identifiers, name
        visible_departments = set(
            departments_visible_to(user).values_list("department_code", flat=True)
        )
        if departments and name.endswith("coordinator"):
            assert visible_departments == departments, name
        assert hospital["ONCOLOGY"].isdisjoint(seen) or "ONCOLOGY" in departments, name


def test_a_superuser_is_a_platform_admin_and_an_inactive_user_sees_nothing(hospital):
    root = User.objects.create_superuser("root", password="a-long-test-passphrase-0042")
    assert role_of(root) == Role.PLATFORM_ADMIN
    cardio = user_with_role("cardio", Role.COORDINATOR, ("CARDIO",))
    cardio.is_active = False
    cardio.save()
    assert not patients_visible_to(cardio).exists()


def test_reassigning_a_role_replaces_the_previous_one(hospital):
    from patients.services import user_role_assign
    from riskplatform.core.models import AuditEvent, AuditLog

    user = user_with_role("sam", Role.COORDINATOR, ("CARDIO",))
    user_role_assign(username="sam", role=Role.ANALYST, department_codes=[], changed_by="test")
    user = User.objects.get(username="sam")
    assert role_of(user) == Role.ANALYST
    assert not user.coordinated_departments.exists()
    event = AuditLog.objects.filter(event_type=AuditEvent.ROLE_ASSIGNED).latest("log_id")
    assert event.old_values["departments"] == ["CARDIO"]
    assert event.new_values["roles"] == ["Analyst"]


def test_role_assign_command_refuses_a_coordinator_without_departments():
    from django.core.management import CommandError, call_command

    User.objects.create_user("kim", password="a-long-test-passphrase-0042")
    with pytest.raises(CommandError, match="at least one department"):
        call_command("role_assign", "kim", "coordinator")
    call_command("role_assign", "kim", "coordinator", "--department", "cardio")
    assert set(
        User.objects.get(username="kim").coordinated_departments.values_list(
            "department_code", flat=True
        )
    ) == {"CARDIO"}
