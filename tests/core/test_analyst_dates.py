"""Analysts see a patient's dates to the month ("December 2026") on every page and export
they can open; coordinators and admins see them to the day and minute.

The walk opens every URL pattern of the project (tests/phi_walk.py) as an analyst, with every
department, window and model version and the pages of patients with interventions,
admissions, outcomes and changed records, and fails on any day or time of day. Report- and
model-level stamps (views refreshed, model created or promoted, monitoring and comparison
runs) describe the platform, not a patient, and stay exact: they are taken out first on the
report pages, which are the only ones that show them (patients/visibility.py,
`exact_dates_visible_to`).
"""

import itertools
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import dateformat, timezone

from riskplatform.core.windows import DAYS_IN_WINDOW
from tests.phi_walk import Hospital, hospital_for_module, url_pages

pytestmark = pytest.mark.django_db

DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")  # 2026-12-01, also inside ISO timestamps
TIME_OF_DAY = re.compile(r"\b\d{1,2}:\d{2}\b")  # 20:41
WRITTEN_DAY = re.compile(  # Django's default date format, "Dec. 1, 2026", and the like
    r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{1,2}, \d{4}\b"
)
REPORT_PAGES = {"model-cards", "model-card", "report-organisation", "report-department",
                "report-interventions", "report-realised"}  # fmt: skip
NOT_WALKED = {
    "password_reset_confirm": "an account page reached with a mailed token; no patient data",
}
ANALYSTS_MAY_OPEN = {"workspace", "worklist", "worklist-export", "patient", *REPORT_PAGES}
ANALYSTS_REFUSED = {"intervention-new", "intervention-edit"}  # de-identified users record none


@pytest.fixture(scope="module")
def hospital(django_db_setup, django_db_blocker, small_cohort, tmp_path_factory):
    yield from hospital_for_module(
        django_db_blocker=django_db_blocker, small_cohort=small_cohort,
        tmp_path=tmp_path_factory.mktemp("hospital"),
    )  # fmt: skip


def _report_stamps() -> set[str]:
    """Every report- or model-level stamp as the pages print it (Y-m-d H:i, local time)."""
    from finance.selectors import reporting_views_refreshed_at
    from predictions.models import ModelComparison, ModelMonitoringRun, ModelVersion

    values = [reporting_views_refreshed_at()]
    for model, fields in ((ModelVersion, ("created_at", "promoted_at", "retired_at")),
                          (ModelMonitoringRun, ("created_at", "started_at", "finished_at")),
                          (ModelComparison, ("created_at",))):  # fmt: skip
        values += [v for row in model.objects.values_list(*fields) for v in row]
    return {dateformat.format(timezone.localtime(v), "Y-m-d H:i") for v in values if v}


def _samples(hospital: Hospital) -> dict[str, list]:
    from finance.models import Intervention
    from patients.models import Department
    from predictions.models import ModelVersion

    return {
        "department_code": list(Department.objects.values_list("department_code", flat=True)),
        "window": list(DAYS_IN_WINDOW),
        "patient_uuid": [p.patient_uuid for p in hospital.patients],
        "intervention_uuid": list(
            Intervention.objects.filter(patient__in=hospital.patients).values_list(
                "intervention_uuid", flat=True
            )[:3]
        ),
        "version": list(ModelVersion.objects.values_list("version", flat=True)),
    }


def _exact_dates(body: str, *, stamps: set[str]) -> list[str]:
    for stamp in stamps:
        body = body.replace(stamp, "<report stamp>")
    return [m.group() for regex in (DAY, TIME_OF_DAY, WRITTEN_DAY) for m in regex.finditer(body)]


def test_every_page_an_analyst_can_open_shows_patient_dates_to_the_month(hospital):
    client = Client()
    client.force_login(hospital.analyst)
    samples, stamps = _samples(hospital), _report_stamps()
    opened, refused = set(), set()
    for page in url_pages():
        if page.route.startswith("admin/") or page.key in NOT_WALKED or not page.name:
            continue  # the admin is for platform admins (asserted below); unnamed: redirects
        unknown = set(page.params) - set(samples)
        assert not unknown, f"{page.route}: give the walk sample {sorted(unknown)}"
        for values in itertools.product(*(samples[p] for p in page.params)):
            url = reverse(page.name, kwargs=dict(zip(page.params, values, strict=True)))
            response = client.get(url)
            if response.status_code == 403:
                refused.add(page.name)
                continue
            if response.status_code != 200:
                continue  # login/logout forms answer 405 to GET; the API wants POST
            opened.add(page.name)
            body = response.content.decode()
            found = _exact_dates(body, stamps=stamps if page.name in REPORT_PAGES else set())
            assert not found, f"{url} shows an analyst exact dates: {found[:5]}"
    assert opened >= ANALYSTS_MAY_OPEN
    assert refused == ANALYSTS_REFUSED
    assert client.get(reverse("admin:index")).status_code == 302  # to the admin's login


def test_the_patient_page_gives_analysts_months_and_coordinators_days(hospital):
    """The red-team's strings: "Recorded by alice (2026-12-01 20:41)", "30-day score of
    2026-12-01", the score history's timestamps, the admissions."""
    patient, intervention = hospital.patient, hospital.intervention
    admission = patient.admissions.order_by("admission_date").first()
    scored = timezone.localtime(intervention.prediction.prediction_timestamp)
    updated = timezone.localtime(intervention.updated_at)
    url = reverse("patient", args=[patient.patient_uuid])
    recorded = f'{intervention.recorded_by} <span class="muted">'

    coordinator = Client()
    coordinator.force_login(hospital.coordinator)
    body = coordinator.get(url).content.decode()
    assert f"{recorded}({updated:%Y-%m-%d %H:%M})</span>" in body
    assert f"-day score of {scored:%Y-%m-%d}" in body
    assert f"<td>{scored:%Y-%m-%d %H:%M}</td>" in body
    if admission is not None:
        assert f"<td>{admission.admission_date:%Y-%m-%d}</td>" in body

    analyst = Client()
    analyst.force_login(hospital.analyst)
    body = analyst.get(url).content.decode()
    assert f"{recorded}({dateformat.format(updated, 'F Y')})</span>" in body
    assert f"-day score of {dateformat.format(scored, 'F Y')}" in body
    assert f"<td>{dateformat.format(scored, 'F Y')}</td>" in body
    if admission is not None:
        assert f"<td>{dateformat.format(admission.admission_date, 'F Y')}</td>" in body
    assert "De-identified: dates shown to the month." in body
