"""The finance reports over tests/scenarios.py (hand-countable) and over a really scored
population: figures against the rows, who sees what, the access log, bounded queries."""

from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from finance.models import FinancialProjection, InterventionPolicy, RoiPositivePatient
from finance.selectors import (
    department_roi_by_tier,
    department_roi_summary,
    intervention_totals,
)
from finance.services import views_refresh
from patients.models import Department
from predictions.scoring_runs import population_score, scoring_run_create
from riskplatform.core.models import AccessAction, AccessEvent
from riskplatform.core.roles import Role
from tests.factories import PatientFactory, user_with_role
from tests.scenarios import WINDOWS, _predict

pytestmark = pytest.mark.django_db

# Session, user and role (3), the page's own queries (2 to 6), the access event (1).
MAX_QUERIES = 10


@pytest.fixture
def refreshed(scored_population):
    views_refresh(changed_by="test")
    return scored_population


@pytest.fixture
def scored(active_version, patients_with_features):
    population_score(run_id=scoring_run_create(version="v1.0", changed_by="test").pk)
    views_refresh(changed_by="test")
    return patients_with_features


def _login(client, role: Role, departments: tuple[str, ...] = (), username: str = "u"):
    user = user_with_role(username, role, departments)
    client.force_login(user)
    return user


def _current_projections():
    """Projections of current predictions (active version, not superseded, active patient),
    read row by row: the independent hand computation the reports are checked against."""
    return FinancialProjection.objects.filter(
        prediction__superseded_at__isnull=True,
        prediction__model_version__status="active",
        prediction__patient__is_active=True,
    ).select_related("prediction", "patient__department")


def _sums(projections) -> dict:
    """(window, key) -> [patients, cost, savings, net], summed in Python."""
    sums = defaultdict(lambda: [0, Decimal(0), Decimal(0), Decimal(0)])
    for key, fp in projections:
        line = sums[key]
        line[0] += 1
        line[1] += fp.intervention_cost
        line[2] += fp.expected_savings
        line[3] += fp.net_benefit
    return sums


def _line(line) -> list:
    return [line.patient_count, line.intervention_cost, line.expected_savings, line.net_benefit]


def _report(response, action=AccessAction.REPORT_VIEW) -> AccessEvent:
    assert response.status_code == 200
    return AccessEvent.objects.get(action=action)


# Organisation summary


def test_organisation_summary_counts_each_tier_and_forecasts_next_months_criticals(
    client, refreshed, django_assert_max_num_queries
):
    _login(client, Role.ANALYST)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(reverse("report-organisation"))
    event = _report(response)
    assert (event.report, event.patient_uuids, event.patient_count) == (
        "organisation-summary",
        [],
        0,
    )
    expected = defaultdict(int)
    for fp in _current_projections():
        expected[(fp.prediction.prediction_window, fp.prediction.risk_tier)] += 1
    summary = response.context["summary"]
    assert summary.model_version == "v1.0"
    assert [w.window for w in summary.windows] == list(WINDOWS)
    for window in summary.windows:
        assert {t.risk_tier: t.patient_count for t in window.tiers} == {
            tier: expected[(window.window, tier)] for tier in range(1, 6)
        }
        assert window.patient_count == 4  # A, B, C, D (E is inactive)
    # 30 days: A (.80) and D (.76) are critical, B tier 4, C tier 2.
    thirty = summary.window("30_day")
    critical = next(t for t in thirty.tiers if t.risk_tier == 5)
    assert (critical.percentage, critical.avg_risk_score, critical.critical_count) == (
        Decimal("50.00"),
        Decimal("0.7800"),
        2,
    )
    html = response.content.decode()
    assert 'Next month expect <strong id="forecast-count">2</strong> critical-risk' in html
    assert "current 30-day prediction under model v1.0 is tier 5" in html
    assert html.count("<svg") == 3
    assert "SCENARIO-" not in html and str(refreshed.patients["A"].patient_uuid) not in html


def test_organisation_summary_is_open_to_every_role(client, refreshed):
    _login(client, Role.COORDINATOR, ("CARDIO",))
    response = client.get(reverse("report-organisation"))
    assert response.status_code == 200
    # Aggregate over the whole organisation, not only the coordinator's department.
    assert response.context["forecast"].critical_tier_count == 2


# Department report


def test_department_report_roi_by_tier_matches_the_projection_rows(
    client, refreshed, django_assert_max_num_queries
):
    _login(client, Role.COORDINATOR, ("NEPHRO",))
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(reverse("report-department", args=["NEPHRO"]))
    assert response.status_code == 200
    expected = _sums(
        ((fp.prediction.prediction_window, fp.prediction.risk_tier), fp)
        for fp in _current_projections()
        if fp.patient.department.department_code == "NEPHRO"
    )
    for window in response.context["roi_windows"]:
        for line in window.lines:
            assert _line(line) == expected.get((window.window, line.risk_tier), [0, 0, 0, 0])
        assert _line(window.total) == [
            sum(v[i] for (w, _), v in expected.items() if w == window.window) for i in range(4)
        ]
    # By hand, 30 days, tier 5 is A alone: $900 against 150,000 x 30/365 x 60% x 30% = 2,219.18.
    a30 = response.context["roi_windows"][0].lines[4]
    assert (a30.patient_count, a30.intervention_cost, a30.expected_savings) == (
        1,
        Decimal("900.00"),
        Decimal("2219.18"),
    )
    assert a30.roi_percentage == Decimal("146.58")  # 1,319.18 / 900
    assert response.context["roi_windows"][0].lines[0].roi_percentage is None  # no spend


def test_department_report_compares_the_department_with_the_organisation(client, refreshed):
    _login(client, Role.PLATFORM_ADMIN)
    response = client.get(reverse("report-department", args=["NEPHRO"]))
    thirty = response.context["comparisons"][0]
    assert thirty.window == "30_day"
    # NEPHRO at 30 days: A T5, B T4, C T2. Organisation: those and D (CARDIO, T5).
    assert (thirty.total_patients, thirty.high_risk_count, thirty.critical_risk_count) == (3, 2, 1)
    assert (thirty.critical_share, thirty.org_critical_share) == (
        Decimal("33.33"),
        Decimal("50.00"),
    )
    assert thirty.critical_share_difference == Decimal("-16.67")
    assert thirty.share_of_org_critical == Decimal("50.00")  # 1 of 2
    assert thirty.avg_risk_score == Decimal("0.5000")  # (.80 + .55 + .15) / 3
    assert thirty.org_avg_risk_score == Decimal("0.5650")  # (.80 + .55 + .15 + .76) / 4
    assert thirty.avg_score_difference == Decimal("-0.0650")


def test_department_report_lists_top_roi_patients_and_logs_them(client, refreshed):
    _login(client, Role.COORDINATOR, ("NEPHRO",))
    response = client.get(reverse("report-department", args=["NEPHRO"]))
    event = _report(response)
    a = refreshed.patients["A"]
    # Only A's interventions pay for themselves in NEPHRO (B's and C's ROI are negative).
    expected = sorted(
        (
            (fp.net_benefit, fp.projection_window)
            for fp in _current_projections()
            if fp.patient_id == a.pk
        ),
        reverse=True,
    )
    rows = response.context["top_patients"]
    assert [(r.net_benefit, r.projection_window) for r in rows] == expected
    assert {r.patient_uuid for r in rows} == {a.patient_uuid}
    assert all(r.external_id == "SCENARIO-A" for r in rows)
    html = response.content.decode()
    assert reverse("patient", args=[a.patient_uuid]) in html
    assert "SCENARIO-A" in html  # coordinators see hospital numbers
    assert str(refreshed.patients["D"].patient_uuid) not in html  # CARDIO
    assert (event.report, event.patient_uuids, event.patient_count) == (
        "department:NEPHRO",
        [a.patient_uuid],
        1,
    )


def test_department_report_top_patients_can_be_limited_to_one_window(client, refreshed):
    _login(client, Role.PLATFORM_ADMIN)
    url = reverse("report-department", args=["CARDIO"])
    rows = client.get(url, {"window": "60_day"}).context["top_patients"]
    # D (CARDIO) pays off in every window; asked for 60 days, only that row is listed.
    assert [(r.patient_uuid, r.projection_window) for r in rows] == [
        (refreshed.patients["D"].patient_uuid, "60_day")
    ]
    assert len(client.get(url, {"window": "7_day"}).context["top_patients"]) == 3


def test_an_analyst_sees_no_hospital_number_in_the_department_report(client, refreshed):
    _login(client, Role.ANALYST)
    response = client.get(reverse("report-department", args=["NEPHRO"]))
    assert response.status_code == 200
    assert response.context["top_patients"]
    assert all(row.external_id is None for row in response.context["top_patients"])
    html = response.content.decode()
    assert "SCENARIO-" not in html
    assert "External id" not in html
    assert str(refreshed.patients["A"].patient_uuid) in html


def test_a_coordinator_cannot_open_another_departments_report(client, refreshed):
    _login(client, Role.COORDINATOR, ("CARDIO",))
    assert client.get(reverse("report-department", args=["NEPHRO"])).status_code == 404
    assert client.get(reverse("report-department", args=["NOSUCH"])).status_code == 404
    assert not AccessEvent.objects.exists()
    assert client.get(reverse("report-department", args=["CARDIO"])).status_code == 200


# Intervention planning


@pytest.mark.parametrize("min_tier", [5, 4])
def test_intervention_planning_matches_the_rows_and_the_corrected_query_2(
    client, refreshed, min_tier, django_assert_max_num_queries
):
    _login(client, Role.ANALYST)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(reverse("report-interventions"), {"min_tier": min_tier})
    event = _report(response)
    assert (event.report, event.patient_uuids) == ("intervention-planning", [])
    assert response.context["min_tier"] == min_tier
    expected = _sums(
        ((fp.prediction.prediction_window, fp.patient.department.department_code), fp)
        for fp in _current_projections()
        if fp.prediction.risk_tier >= min_tier
    )
    plans = [plan for plan, _chart in response.context["plans"]]
    for plan in plans:
        assert len(plan.lines) == Department.objects.count()  # every department, zeros too
        for line in plan.lines:
            assert _line(line) == expected.get((plan.window, line.department_code), [0, 0, 0, 0])
        corrected = intervention_totals(window=plan.window, min_tier=min_tier)
        assert _line(plan.total) == [
            corrected.patient_count,
            corrected.total_intervention_cost,
            corrected.total_expected_savings,
            corrected.net_benefit,
        ]
    # By hand, 30 days, critical only: A (NEPHRO) and D (CARDIO), $900 each; not E (inactive),
    # nor A's superseded prediction, nor the candidate model's.
    if min_tier == 5:
        assert _line(plans[0].total) == [
            2,
            Decimal("1800.00"),
            Decimal("3698.63"),
            Decimal("1898.63"),
        ]


def test_a_coordinators_intervention_planning_shows_only_their_departments(client, refreshed):
    _login(client, Role.COORDINATOR, ("CARDIO",))
    response = client.get(reverse("report-interventions"))
    plans = [plan for plan, _chart in response.context["plans"]]
    assert all([line.department_code for line in plan.lines] == ["CARDIO"] for plan in plans)
    cardio = Department.objects.get(department_code="CARDIO")
    for plan in plans:
        corrected = intervention_totals(window=plan.window, department_id=cardio.pk)
        assert _line(plan.total)[:3] == [
            corrected.patient_count,
            corrected.total_intervention_cost,
            corrected.total_expected_savings,
        ]
    # D at 30 days: $900 against 100,000 x 30/365 x 60% x 30% = 1,479.45.
    assert _line(plans[0].total) == [1, Decimal("900.00"), Decimal("1479.45"), Decimal("579.45")]
    html = response.content.decode()
    assert "Nephrology" not in html.split("<main>")[1]


def test_an_unknown_min_tier_falls_back_to_critical_only(client, refreshed):
    _login(client, Role.ANALYST)
    for value in ("3", "x", ""):
        response = client.get(reverse("report-interventions"), {"min_tier": value})
        assert response.context["min_tier"] == 5


# Access


@pytest.mark.parametrize(
    ("name", "args"),
    [("report-organisation", []), ("report-department", ["CARDIO"]), ("report-interventions", [])],
)
def test_reports_need_a_login_and_a_role(client, refreshed, django_user_model, name, args):
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    client.force_login(django_user_model.objects.create_user("no-role"))
    assert client.get(url).status_code == 403
    assert not AccessEvent.objects.exists()


def test_report_queries_do_not_grow_with_the_population(client, refreshed):
    _login(client, Role.PLATFORM_ADMIN)
    urls = [
        reverse("report-organisation"),
        reverse("report-department", args=["NEPHRO"]),
        reverse("report-interventions") + "?min_tier=4",
    ]

    def counts() -> list[int]:
        found = []
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            found.append(len(queries))
        return found

    before = counts()
    policies = {(p.prediction_window, p.risk_tier): p for p in InterventionPolicy.objects.all()}
    nephro = Department.objects.get(department_code="NEPHRO")
    for i in range(30):
        patient = PatientFactory(department=nephro, annual_cost=Decimal(20000 + 5000 * i))
        for window in WINDOWS:
            _predict(patient, refreshed.active, window, f".{50 + i}", policies)
    views_refresh(changed_by="test")
    assert counts() == before


# Over a population scored by the real pipeline


def test_reports_agree_with_a_really_scored_population(client, scored):
    _login(client, Role.PLATFORM_ADMIN)
    summary = client.get(reverse("report-organisation")).context["summary"]
    assert [w.patient_count for w in summary.windows] == [25, 25, 25]
    plans = client.get(reverse("report-interventions"), {"min_tier": 4}).context["plans"]
    for plan, _chart in plans:
        corrected = intervention_totals(window=plan.window, min_tier=4)
        assert (plan.total.patient_count, plan.total.intervention_cost) == (
            corrected.patient_count,
            corrected.total_intervention_cost,
        )
    report = client.get(reverse("report-department", args=["CARDIO"])).context
    cardio_patients = sum(1 for p in scored if p.department.department_code == "CARDIO")
    assert [w.total.patient_count for w in report["roi_windows"]] == [cardio_patients] * 3
    assert [c.total_patients for c in report["comparisons"]] == [cardio_patients] * 3
    positive = RoiPositivePatient.objects.filter(department_code="CARDIO")
    shown = [row.net_benefit for row in report["top_patients"]]
    assert shown == sorted(positive.values_list("net_benefit", flat=True), reverse=True)[:20]
    assert all(net >= 0 for net in shown)


def test_the_summary_view_gives_the_live_figures_once_refreshed(refreshed):
    for code in ("NEPHRO", "CARDIO", "PULMO"):
        department = Department.objects.get(department_code=code)
        live = department_roi_by_tier(department=department)
        assert department_roi_summary(department=department) == live
