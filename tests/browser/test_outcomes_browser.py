"""Closing the loop in a real Chromium: a coordinator records an intervention from a
worklist row; finance reads realised ROI and a data scientist the monitoring, after the
demo's simulated quarter (riskplatform/demo.py: demo_quarter_play)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from riskplatform.core.models import AccessAction, AccessEvent
from riskplatform.core.roles import Role
from tests.browser.chromium import CHROMIUM_MISSING
from tests.scenarios import quarter_played

pytestmark = [pytest.mark.browser, CHROMIUM_MISSING, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-test-passphrase-0042"


@pytest.fixture
def quarter(reference_data, demo_cohort, tmp_path):
    """The demo cohort imported, v1.0 scored a quarter ago, the quarter simulated and judged,
    everyone scored again today and monitored; one user per role."""
    from django.contrib.auth.models import User

    from finance.services import views_refresh
    from patients.services import user_role_assign

    files, trained = demo_cohort
    quarter_played(files=files, trained=trained, out_dir=tmp_path, seed=5)
    views_refresh(changed_by="test")
    for name, role, departments in (("cardio", Role.COORDINATOR, ["CARDIO"]),
                                    ("finance", Role.ANALYST, []),
                                    ("admin", Role.PLATFORM_ADMIN, [])):  # fmt: skip
        User.objects.create_user(name, password=PASSWORD)
        user_role_assign(username=name, role=role, department_codes=departments, changed_by="t")
    return files


def _log_in(page: Page, base: str, username: str, path: str = "/workspace/") -> None:
    page.goto(f"{base}/accounts/login/?next={path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_coordinator_records_an_intervention_from_the_worklist(
    page: Page, live_server, quarter, screenshots
):
    from finance.models import Intervention

    before = Intervention.objects.count()
    _log_in(page, live_server.url, "cardio", path="/worklists/CARDIO/30_day/")
    row = page.locator("table.worklist tbody tr").first
    patient_uuid = row.locator("a").first.get_attribute("href").strip("/").split("/")[-1]
    row.get_by_role("link", name="Record").click()
    expect(page.get_by_role("heading", name="Record an intervention")).to_be_visible()
    expect(page.locator("#prompting-prediction")).to_contain_text("30-day prediction")

    page.get_by_label("Intervention", exact=True).select_option("HOME_VISIT")
    page.get_by_label("Status").select_option("DONE")
    page.get_by_label("Date", exact=True).fill(
        (timezone.localdate() - timedelta(days=1)).isoformat()
    )
    page.get_by_label("Cost spent ($)").fill("412.50")
    page.get_by_label("Notes").fill("Medication list reconciled at home")
    page.screenshot(path=screenshots / "intervention-form.png", full_page=True)
    page.get_by_role("button", name="Record").click()

    expect(page.get_by_role("heading", name=re.compile("^Patient "))).to_be_visible()
    listed = page.locator("#intervention-list")
    expect(listed).to_contain_text("Home visit")
    expect(listed).to_contain_text("412.50")
    recorded = Intervention.objects.exclude(notes="Simulated for the demo").get()
    assert Intervention.objects.count() == before + 1
    assert str(recorded.patient.patient_uuid) == patient_uuid
    assert recorded.prediction.prediction_window == "30_day"
    assert recorded.history.count() == 1
    assert page.url.split("#")[0].endswith(f"/patients/{patient_uuid}/")


def test_finance_reads_realised_roi_without_patient_identifiers(
    page: Page, live_server, quarter, screenshots
):
    from patients.models import Patient

    external_ids = list(Patient.objects.values_list("external_id", flat=True))
    _log_in(page, live_server.url, "finance", path="/reports/realised/?window=30_day")
    expect(page.get_by_role("heading", name="Realised return on intervention")).to_be_visible()
    total = page.locator("#realised-by-tier tfoot tr")
    cells = [c.strip() for c in total.locator("td").all_inner_texts()]
    assert cells[0] == "Total"
    assert int(cells[1].split()[0].replace(",", "")) > 0  # evaluated patients
    assert int(cells[2].replace(",", "")) > 0  # intervened (the simulated quarter)
    assert cells[9].endswith("%")  # an observed success rate
    text = page.content()
    assert not [e for e in external_ids if e in text]
    page.screenshot(path=screenshots / "realised-roi.png", full_page=True)
    assert AccessEvent.objects.filter(
        username="finance", action=AccessAction.REPORT_VIEW, report__startswith="realised:"
    ).exists()


def test_data_scientist_reads_live_monitoring_on_the_model_card(
    page: Page, live_server, quarter, screenshots
):
    _log_in(page, live_server.url, "admin", path="/models/v1.0/")
    expect(page.get_by_role("heading", name="Live monitoring")).to_be_visible()
    observed = page.locator("table.monitoring-observed").first
    expect(observed).to_contain_text("AUC")
    expect(page.locator("table.monitoring-drift")).to_be_visible()
    top = page.locator("#monitoring").bounding_box()["y"]
    clip = {"x": 0, "y": max(top - 10, 0), "width": page.viewport_size["width"], "height": 1400}
    page.screenshot(path=screenshots / "model-card-monitoring.png", full_page=True, clip=clip)
