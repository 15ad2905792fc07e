"""user_create: a new user in one role, who chooses their own password through an
invitation link; the link works once."""

import secrets

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse

from patients.visibility import role_of
from riskplatform.core.models import AuditEvent, AuditLog
from riskplatform.core.roles import Role

pytestmark = pytest.mark.django_db


def _create(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("user_create", *args, stdout=out)
    return out.getvalue()


def _link_path(output: str) -> str:
    link = output.split("once): ", 1)[1].strip()
    assert link.startswith("http://127.0.0.1:8000/accounts/reset/")
    return link.removeprefix("http://127.0.0.1:8000")


def test_a_new_coordinator_chooses_their_password_through_the_link_once(client):
    output = _create("alice", "coordinator", "--department", "cardio", "--email", "a@h.example")
    alice = User.objects.get(username="alice")
    assert role_of(alice) == Role.COORDINATOR
    assert list(alice.coordinated_departments.values_list("department_code", flat=True)) == [
        "CARDIO"
    ]
    assert not alice.has_usable_password()  # nobody but alice will know it
    assert "alice is now" in output and "for CARDIO" in output
    event = AuditLog.objects.get(event_type=AuditEvent.ROLE_ASSIGNED, entity_id=alice.pk)
    assert event.old_values == {"roles": [], "departments": []}

    link = _link_path(output)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    password = secrets.token_urlsafe(18)
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": password, "new_password2": password},
    )
    assert done.status_code == 302
    login = client.post(reverse("login"), {"username": "alice", "password": password})
    assert login.status_code == 302 and login.wsgi_request.user.username == "alice"

    client.logout()
    again = client.get(link, follow=True)
    assert not again.context["validlink"]  # spent: the token hangs on the old password


def test_an_existing_username_is_refused_and_left_as_it_was():
    User.objects.create_user("bob", password=secrets.token_urlsafe(18))
    with pytest.raises(CommandError, match="already exists"):
        _create("bob", "analyst")
    assert role_of(User.objects.get(username="bob")) is None


def test_a_coordinator_without_departments_is_not_created():
    with pytest.raises(CommandError, match="at least one department"):
        _create("kim", "coordinator")
    assert not User.objects.filter(username="kim").exists()  # one transaction


def test_role_assign_for_an_unknown_user_says_how_to_create_them():
    with pytest.raises(CommandError, match="bin/manage user_create zoe analyst"):
        call_command("role_assign", "zoe", "analyst")
