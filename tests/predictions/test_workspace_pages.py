"""Worklist, CSV export and patient page: what each role sees, the department's tier flags,
the explanation, the access log, and bounded queries."""

import csv
import io

import pytest
from django.urls import reverse

from finance.services import views_refresh
from patients.models import Department
from predictions.models import ModelVersion, Prediction
from predictions.scoring_runs import population_score, scoring_run_create
from predictions.worklist import SORTS
from riskplatform.core.models import AccessAction, AccessEvent
from riskplatform.core.roles import Role
from riskplatform.core.windows import DAYS_IN_WINDOW
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(active_version, patients_with_features):
    # The toy model's scores are modest: lower cut-offs so that every tier is populated.
    thresholds = {"mode": "fixed", **{w: [0.05, 0.1, 0.15, 0.2] for w in DAYS_IN_WINDOW}}
    ModelVersion.objects.filter(version="v1.0").update(tier_thresholds=thresholds)
    population_score(run_id=scoring_run_create(version="v1.0", changed_by="test").pk)
    views_refresh(changed_by="test")
    return patients_with_features


def _flagged(code: str, window: str, tiers=(4, 5)):
    return Prediction.objects.filter(
        patient__department__department_code=code, prediction_window=window,
        superseded_at__isnull=True, risk_tier__in=tiers,
    )  # fmt: skip


def test_coordinator_worklist_lists_exactly_the_flagged_patients_of_their_department(
    client, scored, django_assert_max_num_queries
):
    client.force_login(user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)))
    expected = {str(p.patient.patient_uuid) for p in _flagged("CARDIO", "90_day")}
    assert expected, "the fixture should flag some CARDIO patients at 90 days"
    with django_assert_max_num_queries(16):
        response = client.get(reverse("worklist", args=["CARDIO", "90_day"]))
    assert response.status_code == 200
    rows = response.context["rows"]
    assert {str(r.patient_uuid) for r in rows} == expected
    assert [r.net_benefit for r in rows] == sorted((r.net_benefit for r in rows), reverse=True)
    assert any(r.drivers for r in rows)
    html = response.content.decode()
    for patient in scored:
        assert f"/patients/{patient.pk}/" not in html
    event = AccessEvent.objects.get(action=AccessAction.WORKLIST_VIEW)
    assert event.report == "worklist:CARDIO:90_day"
    assert {str(u) for u in event.patient_uuids} == expected


def test_a_department_that_flags_critical_only_hides_high_risk(client, scored):
    Department.objects.filter(department_code="CARDIO").update(flag_high_risk=False)
    client.force_login(user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)))
    response = client.get(reverse("worklist", args=["CARDIO", "90_day"]))
    expected = {str(p.patient.patient_uuid) for p in _flagged("CARDIO", "90_day", tiers=(5,))}
    assert {str(r.patient_uuid) for r in response.context["rows"]} == expected
    assert all(r.risk_tier == 5 for r in response.context["rows"])


def test_other_departments_and_unknown_windows_answer_404(client, scored):
    client.force_login(user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)))
    assert client.get(reverse("worklist", args=["NEPHRO", "90_day"])).status_code == 404
    assert client.get(reverse("worklist-export", args=["NEPHRO", "90_day"])).status_code == 404
    assert client.get("/worklists/CARDIO/45_day/").status_code == 404
    nephro = next(p for p in scored if p.department.department_code == "NEPHRO")
    assert client.get(reverse("patient", args=[nephro.patient_uuid])).status_code == 404


def test_anonymous_users_are_sent_to_login_and_users_without_a_role_refused(
    client, scored, django_user_model
):
    response = client.get(reverse("worklist", args=["CARDIO", "90_day"]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(django_user_model.objects.create_user("x", password="long-pass-0042-x"))
    assert client.get(reverse("worklist", args=["CARDIO", "90_day"])).status_code == 403


def test_csv_export_has_every_row_and_is_logged(client, scored):
    client.force_login(user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)))
    response = client.get(reverse("worklist-export", args=["CARDIO", "30_day"]))
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    expected = {str(p.patient.patient_uuid) for p in _flagged("CARDIO", "30_day")}
    assert {r["patient_uuid"] for r in rows} == expected
    assert all(r["external_id"].startswith("EXT-") for r in rows)
    event = AccessEvent.objects.get(action=AccessAction.EXPORT)
    assert {str(u) for u in event.patient_uuids} == expected


def test_analyst_sees_no_external_id_or_exact_age(client, scored):
    client.force_login(user_with_role("ana", Role.ANALYST))
    patient = scored[3]
    pages = [
        client.get(reverse("worklist", args=["CARDIO", "90_day"])),
        client.get(reverse("worklist", args=["NEPHRO", "90_day"])),
        client.get(reverse("patient", args=[patient.patient_uuid])),
    ]
    export = client.get(reverse("worklist-export", args=["NEPHRO", "90_day"]))
    assert "external_id" not in export.content.decode().splitlines()[0]
    for response in [*pages, export]:
        assert response.status_code == 200
        body = response.content.decode()
        for p in scored:
            assert p.external_id not in body
    assert f"Age: {patient.age // 10 * 10}-" in pages[2].content.decode()


def test_patient_page_shows_scores_history_and_changes_and_is_logged(
    client, scored, django_assert_max_num_queries
):
    from patients.services import patient_features_update
    from predictions.services import patient_score

    patient = next(p for p in scored if p.department.department_code == "CARDIO")
    patient_features_update(patient=patient, features={"has_chf": 2}, changed_by="nurse")
    patient_score(patient_id=patient.pk, changed_by="nurse")
    client.force_login(user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)))
    with django_assert_max_num_queries(20):
        response = client.get(reverse("patient", args=[patient.patient_uuid]))
    assert response.status_code == 200
    windows = response.context["windows"]
    assert [len(w["history"]) for w in windows] == [2, 2, 2]  # first score and re-score
    assert all(w["current"].superseded_at is None for w in windows)
    body = response.content.decode()
    assert patient.external_id in body
    assert "has_chf" in body and "updated by nurse" in body
    event = AccessEvent.objects.get(action=AccessAction.PATIENT_VIEW)
    assert event.patient_uuids == [patient.patient_uuid]
    assert event.ip_address == "127.0.0.1"


def test_patient_page_shows_admissions_and_each_windows_outcome(
    client, scored, django_assert_max_num_queries
):
    from datetime import timedelta

    from django.utils import timezone

    from finance.models import Intervention
    from patients.models import Admission, AdmissionSource
    from predictions.models import Prediction
    from predictions.outcomes import outcomes_evaluate

    patient = next(p for p in scored if p.department.department_code == "CARDIO")
    scored_on = timezone.localdate() - timedelta(days=100)
    Prediction.objects.filter(patient=patient).update(
        prediction_timestamp=timezone.now() - timedelta(days=100)
    )
    admitted_on = scored_on + timedelta(days=45)
    Admission.objects.create(patient=patient, admission_date=admitted_on, stay_cost=8000,
                             source=AdmissionSource.API, created_by="api:ehr")  # fmt: skip
    outcomes_evaluate(changed_by="test")
    visited_on = scored_on + timedelta(days=5)
    Intervention.objects.create(patient=patient, intervention_type="HOME_VISIT", status="DONE",
                                intervention_date=visited_on, recorded_by="nurse")  # fmt: skip

    client.force_login(user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)))
    with django_assert_max_num_queries(21):
        body = client.get(reverse("patient", args=[patient.patient_uuid])).content.decode()
    assert admitted_on.isoformat() in body and "JSON API" in body
    assert visited_on.isoformat() in body
    assert body.count("not admitted") == 1  # the 30-day window: before the admission
    assert body.count(f"admitted {admitted_on.isoformat()}") == 2  # the 60- and 90-day ones

    client.force_login(user_with_role("analyst", Role.ANALYST))
    body = client.get(reverse("patient", args=[patient.patient_uuid])).content.decode()
    assert admitted_on.isoformat() not in body  # de-identified: the month only
    assert visited_on.isoformat() not in body
    assert f"admitted {admitted_on:%B %Y}" in body  # "December 2026"
    assert f"<td>{visited_on:%B %Y}</td>" in body


SORT_KEYS = {
    "net_benefit": lambda row: row.net_benefit,
    "roi": lambda row: row.roi_percentage,
    "score": lambda row: row.risk_score,
}


def test_the_page_offers_exactly_the_sorts_the_selector_knows(client, scored):
    client.force_login(user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)))
    response = client.get(reverse("worklist", args=["CARDIO", "90_day"]))
    assert [value for value, _ in response.context["sorts"]] == list(SORTS)


@pytest.mark.parametrize("sort", list(SORTS))
def test_each_sort_answers_and_orders_the_rows_descending(client, scored, sort):
    client.force_login(user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)))
    response = client.get(reverse("worklist", args=["CARDIO", "90_day"]), {"sort": sort})
    assert response.status_code == 200
    rows = response.context["rows"]
    assert len(rows) >= 2, "the fixture should flag several CARDIO patients at 90 days"
    values = [SORT_KEYS[sort](row) for row in rows]
    assert values == sorted(values, key=lambda v: (v is not None, v), reverse=True)


def test_reasons_read_as_words_on_the_worklist_and_in_its_export(client, scored):
    client.force_login(user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)))
    page = client.get(reverse("worklist", args=["CARDIO", "90_day"]))
    with_reasons = [row for row in page.context["rows"] if row.drivers]
    assert with_reasons
    body = page.content.decode()
    for driver in with_reasons[0].drivers:
        assert f"{driver.reason[0].upper()}{driver.reason[1:]}: {driver.effect_text}" in body
        assert driver.effect_text.endswith("points of risk")
    export = client.get(reverse("worklist-export", args=["CARDIO", "90_day"]))
    reasons = {
        r["patient_uuid"]: r["reasons"]
        for r in csv.DictReader(io.StringIO(export.content.decode()))
    }
    row = with_reasons[0]
    assert reasons[str(row.patient_uuid)] == "; ".join(
        f"{d.reason}: {d.effect_text}" for d in row.drivers
    )


def test_an_analysts_reasons_give_the_age_band_never_the_age(scored, monkeypatch):
    from predictions import explanations

    monkeypatch.setattr(explanations, "MIN_EFFECT", -1.0)  # every feature is a reason
    version = ModelVersion.objects.get(version="v1.0")
    patient = scored[3]

    def age_driver(exact_age: bool):
        found = explanations.risk_drivers(
            version=version, patient_ids=[patient.pk], windows=["30_day"],
            exact_age=exact_age, top=50,
        )  # fmt: skip
        return next(d for d in found["30_day"][patient.pk] if d.feature == "age")

    assert age_driver(True).value == patient.age
    band = age_driver(False)
    assert band.value == f"{patient.age // 10 * 10}-{patient.age // 10 * 10 + 9}"
    assert str(patient.age) not in band.reason.replace(band.value, "")


def test_the_patient_page_lists_features_in_words(client, scored):
    patient = next(p for p in scored if p.department.department_code == "CARDIO")
    client.force_login(user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)))
    response = client.get(reverse("patient", args=[patient.patient_uuid]))
    features = {name: (label, value) for name, label, value in response.context["features"]}
    assert features["has_chf"][0] == "heart failure"
    assert features["has_chf"][1] in ("yes", "no", "not recorded")
    assert features["total_annual_cost"][1].startswith("$")
    assert "Heart failure" in response.content.decode()
