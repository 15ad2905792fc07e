"""A coordinator, an analyst and an admin at work, in a real Chromium."""

import re

import pytest
from playwright.sync_api import Page, expect

from riskplatform.core.models import AccessAction, AccessEvent
from riskplatform.core.roles import Role
from tests.browser.chromium import CHROMIUM_MISSING

pytestmark = [pytest.mark.browser, CHROMIUM_MISSING, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-test-passphrase-0042"


@pytest.fixture
def hospital(reference_data, demo_cohort):
    """The demo's generated patients (all departments) scored under v1.0, a fully scored
    candidate v1.1, and one user per role."""
    from django.contrib.auth.models import User

    from finance.services import views_refresh
    from patients.importer import patients_import
    from patients.models import DataSource
    from patients.services import user_role_assign
    from predictions.model_store import model_cache_clear
    from predictions.scoring_runs import population_score, scoring_run_create
    from predictions.services import model_version_activate, model_version_register

    files, trained = demo_cohort
    model_cache_clear()
    patients_import(path=files.x_test, source=DataSource.X_TEST, changed_by="test")
    for version in ("v1.0", "v1.1"):
        model_version_register(
            version=version, models=trained.models, encoding=trained.encoding,
            metrics=trained.metrics, changed_by="test",
        )  # fmt: skip
        population_score(run_id=scoring_run_create(version=version, changed_by="test").pk)
        if version == "v1.0":
            model_version_activate(version="v1.0", changed_by="test")
    views_refresh(changed_by="test")
    for name, role, departments in (("cardio", Role.COORDINATOR, ["CARDIO"]),
                                    ("analyst", Role.ANALYST, []),
                                    ("admin", Role.PLATFORM_ADMIN, [])):  # fmt: skip
        User.objects.create_user(name, password=PASSWORD)
        user_role_assign(username=name, role=role, department_codes=departments, changed_by="t")


def _log_in(page: Page, base: str, username: str, path: str = "/workspace/") -> None:
    page.goto(f"{base}/accounts/login/?next={path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_coordinator_works_through_worklist_patient_report_and_export(
    page: Page, live_server, hospital, screenshots
):
    from patients.models import Patient

    _log_in(page, live_server.url, "cardio")
    expect(page.get_by_role("heading", name="Worklists")).to_be_visible()
    expect(page.get_by_text("Oncology")).to_have_count(0)

    page.get_by_role("link", name="90 days").first.click()
    expect(
        page.get_by_role("heading", name=re.compile("Cardiology: 90-day worklist"))
    ).to_be_visible()
    rows = page.locator("table.worklist tbody tr")
    assert rows.count() >= 1
    page.screenshot(path=screenshots / "worklist.png", full_page=True)

    with page.expect_download() as download:
        page.locator("#export-csv").click()
    exported = download.value.path().read_text()
    assert exported.startswith("patient_uuid,external_id,age")

    rows.first.locator("a").first.click()
    expect(page.get_by_role("heading", name=re.compile("^Patient "))).to_be_visible()
    expect(page.get_by_text("Score history")).to_be_visible()
    page.screenshot(path=screenshots / "patient.png", full_page=True)

    page.goto(f"{live_server.url}/workspace/")
    page.get_by_role("link", name="Department report").first.click()
    expect(page.get_by_role("heading", name=re.compile("Cardiology"))).to_be_visible()
    page.screenshot(path=screenshots / "department-report.png", full_page=True)

    oncology = Patient.objects.filter(department__department_code="ONCOLOGY").first()
    response = page.goto(f"{live_server.url}/patients/{oncology.patient_uuid}/")
    assert response.status == 404

    actions = set(AccessEvent.objects.filter(username="cardio").values_list("action", flat=True))
    assert {AccessAction.WORKLIST_VIEW, AccessAction.EXPORT, AccessAction.PATIENT_VIEW,
            AccessAction.REPORT_VIEW} <= actions  # fmt: skip


def test_analyst_never_sees_an_external_id(page: Page, live_server, hospital, screenshots):
    from patients.models import Patient

    external_ids = list(Patient.objects.values_list("external_id", flat=True))
    patient = Patient.objects.filter(department__department_code="CARDIO").first()
    _log_in(page, live_server.url, "analyst")
    for path in ("/workspace/", "/worklists/CARDIO/90_day/", "/worklists/ONCOLOGY/30_day/",
                 f"/patients/{patient.patient_uuid}/", "/reports/departments/CARDIO/",
                 "/reports/organisation/", "/reports/interventions/", "/models/v1.0/"):  # fmt: skip
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        text = page.content()
        assert not [e for e in external_ids if e in text], path
        if path == "/reports/organisation/":
            page.screenshot(path=screenshots / "organisation.png", full_page=True)
        if path == "/models/v1.0/":
            page.screenshot(path=screenshots / "model-card.png", full_page=True)


def test_admin_promotes_a_fully_scored_candidate(page: Page, live_server, hospital, screenshots):
    from predictions.models import ModelVersion

    _log_in(page, live_server.url, "admin", path="/admin/predictions/modelversion/")
    row = page.locator("#result_list tr", has_text="v1.1")
    row.locator("input.action-select").check()
    page.locator("select[name=action]").select_option("make_active")
    page.screenshot(path=screenshots / "admin-promotion.png", full_page=True)
    page.get_by_role("button", name=re.compile("Go|Run")).click()
    expect(page.locator(".messagelist")).to_contain_text("v1.1 is now active", ignore_case=True)
    statuses = dict(ModelVersion.objects.values_list("version", "status"))
    assert statuses == {"v1.0": "retired", "v1.1": "active"}
