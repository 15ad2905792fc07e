"""Department codes match ^[A-Z0-9_]{2,20}$: PostgreSQL refuses any other (CHECK
departments_code_format), the admin form says why, and the URLs take exactly that shape, so
no code can break a page (a '/' made /workspace/ answer 500 for everyone organisation-wide)."""

import importlib

import pytest
from django.apps import apps
from django.urls import NoReverseMatch, reverse

from patients.models import DEPARTMENT_CODE_MESSAGE, Department
from riskplatform.core.roles import Role
from tests.db_roles import constraint_dropped
from tests.factories import DepartmentFactory, user_with_role

pytestmark = pytest.mark.django_db

REFUSED = ["A/B", "ab", 'Q"X;', "Cardio", "A", "CAR DIO", "AB\n", "ÄB", "A-B", ""]
ACCEPTED = ["AB", "A_B", "GERI2", "ABCDEFGHIJ0123456789"]


@pytest.mark.parametrize("code", REFUSED, ids=repr)
def test_postgresql_refuses_a_code_of_another_shape(assert_db_rejects, code):
    assert_db_rejects(
        lambda: Department.objects.create(department_name="Other", department_code=code),
        "departments_code_format",
    )
    department = DepartmentFactory()
    assert_db_rejects(
        lambda: Department.objects.filter(pk=department.pk).update(department_code=code),
        "departments_code_format",
    )


# Transactional: dropping the constraint is the owner's (tests/db_roles.py), on its own
# connection, which sees only committed rows; put back afterwards.
@pytest.mark.django_db(transaction=True)
def test_the_seeded_codes_conform_and_the_migrations_check_names_any_that_does_not(
    reference_data,
):
    seeded = set(Department.objects.values_list("department_code", flat=True))
    assert seeded >= {"CARDIO", "ONCOLOGY", "NEPHRO", "PULMO", "NEURO", "GENMED"}
    assert not Department.objects.exclude(department_code__regex=r"^[A-Z0-9_]{2,20}$").exists()
    migration = importlib.import_module("patients.migrations.0005_department_code_format")
    migration.refuse_nonconforming_codes(apps, None)  # nothing to refuse
    # A database from before the constraint.
    with constraint_dropped("departments", "departments_code_format") as owner:
        owner.execute(
            "INSERT INTO departments (department_name, department_code) VALUES ('Old', 'a/b')"
        )
        try:
            with pytest.raises(RuntimeError, match="'a/b'"):
                migration.refuse_nonconforming_codes(apps, None)
        finally:
            owner.execute("DELETE FROM departments WHERE department_code = 'a/b'")


@pytest.mark.parametrize("code", ["A/B", "ab", 'Q"X;'])
def test_the_admin_form_refuses_with_a_clear_message(admin_client, code):
    response = admin_client.post(
        reverse("admin:patients_department_add"),
        {"department_name": "Geriatrics", "department_code": code, "flag_high_risk": "on"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["department_code"] == [DEPARTMENT_CODE_MESSAGE]
    assert not Department.objects.filter(department_name="Geriatrics").exists()


def test_the_admin_form_accepts_a_conforming_code(admin_client):
    response = admin_client.post(
        reverse("admin:patients_department_add"),
        {"department_name": "Geriatrics", "department_code": "GERI_2", "flag_high_risk": "on"},
    )
    assert response.status_code == 302
    assert Department.objects.filter(department_code="GERI_2").exists()


def test_urls_take_exactly_the_shape(client):
    client.force_login(user_with_role("ana", Role.ANALYST))
    refused = [
        "/worklists/cardio/30_day/",
        "/worklists/A%2FB/30_day/",
        "/worklists/CARDIO%2F/30_day/export.csv",
        "/reports/departments/cardio/",
    ]
    for path in refused:
        assert client.get(path).status_code == 404, path
    with pytest.raises(NoReverseMatch):
        reverse("worklist", args=["A/B", "30_day"])
    assert client.get("/worklists/CARDIO/30_day/").status_code == 200


def test_every_conforming_code_reaches_its_pages(client):
    for code in ACCEPTED:
        DepartmentFactory(department_code=code)
    client.force_login(user_with_role("ana", Role.ANALYST))  # organisation-wide
    for path in ("/workspace/", "/reports/interventions/"):
        response = client.get(path)
        assert response.status_code == 200, path
    body = client.get("/workspace/").content.decode()
    for code in ACCEPTED:
        assert f'href="/worklists/{code}/30_day/"' in body
        assert client.get(f"/worklists/{code}/30_day/").status_code == 200
        assert client.get(f"/reports/departments/{code}/").status_code == 200
        export = client.get(f"/worklists/{code}/30_day/export.csv")
        assert f'filename="worklist-{code}-30_day.csv"' in export["Content-Disposition"]
