"""The realised ROI report against a hand-computed example; who sees which departments,
the access log, no patient in the page, bounded queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from finance.models import Intervention
from finance.realisation import projections_realise
from finance.realised_selectors import realised_report
from patients.models import Department
from riskplatform.core.models import AccessAction, AccessEvent
from riskplatform.core.roles import Role
from tests.factories import ModelVersionFactory, PatientFactory, user_with_role
from tests.outcome_factories import at_noon, evaluated_projection

pytestmark = pytest.mark.django_db

D = dt.date(2025, 1, 10)  # every prediction's date
WINDOW_END = D + dt.timedelta(days=30)
# Session, user, role, departments, versions, the figures, the policies, the access event.
MAX_QUERIES = 10


def _patient(code: str, annual_cost: str):
    return PatientFactory(
        department=Department.objects.get(department_code=code), annual_cost=Decimal(annual_cost)
    )


def _intervention(patient, status: str, day: dt.date, cost: str) -> None:
    Intervention.objects.create(
        patient=patient,
        intervention_type="HOME_VISIT",
        status=status,
        intervention_date=day,
        cost_spent=Decimal(cost),
        recorded_by="test",
    )


@pytest.fixture
def example(model_version):
    """CARDIO, 30 days, model v1.0. Annual 36,500 -> addressable 36,500 x 30/365 x 0.6 =
    1,800.00, expected savings 1,800 x 0.3 = 540.00; annual 73,000 -> 3,600.00 and 1,080.00.
    Every projection's intervention cost is 600.00.

        P1 tier 5  36,500  DONE d+2 (200)      not admitted  realised 1,800
                           PLANNED after the window (999): outside the span
        P2 tier 5  73,000  DONE d+4 (300)      admitted      realised 0
        P3 tier 5  36,500  DECLINED d+1 (50)   admitted      not intervened, 0
        P4 tier 5  36,500  none                not admitted  not intervened, 0
                           (superseded the day after its window: still counted)
        P5 tier 4  36,500  DONE window_end (100) not admitted realised 1,800

    Left out: a prediction superseded before its window ended, a NEPHRO patient, another
    model version, and a prediction without outcome."""
    p1, p2, p3, p4, p5 = (
        _patient("CARDIO", cost) for cost in ("36500", "73000", "36500", "36500", "36500")
    )
    evaluated_projection(patient=p1, version=model_version, day=D)
    evaluated_projection(patient=p2, version=model_version, day=D, admitted=True)
    evaluated_projection(patient=p3, version=model_version, day=D, admitted=True)
    evaluated_projection(
        patient=p4,
        version=model_version,
        day=D,
        superseded_at=at_noon(WINDOW_END + dt.timedelta(days=1)),
    )
    evaluated_projection(patient=p5, version=model_version, day=D, score="0.6000")
    _intervention(p1, "DONE", D + dt.timedelta(days=2), "200")
    _intervention(p1, "PLANNED", WINDOW_END + dt.timedelta(days=5), "999")
    _intervention(p2, "DONE", D + dt.timedelta(days=4), "300")
    _intervention(p3, "DECLINED", D + dt.timedelta(days=1), "50")
    _intervention(p5, "DONE", WINDOW_END, "100")

    superseded = _patient("CARDIO", "36500")
    evaluated_projection(
        patient=superseded,
        version=model_version,
        day=D,
        superseded_at=at_noon(D + dt.timedelta(days=10)),
    )
    nephro = _patient("NEPHRO", "36500")
    evaluated_projection(patient=nephro, version=model_version, day=D)
    old = ModelVersionFactory(version="v0.9", status="retired")
    evaluated_projection(patient=_patient("CARDIO", "36500"), version=old, day=D)
    for patient in (superseded, nephro):
        _intervention(patient, "DONE", D, "10000")
    projections_realise(changed_by="test")
    return [p1, p2, p3, p4, p5, superseded, nephro]


def _figures(line) -> dict:
    return {
        "evaluated": line.evaluated,
        "intervened": line.intervened,
        "projected_savings": line.projected_savings,
        "realised_savings": line.realised_savings,
        "projected_cost_intervened": line.projected_cost_intervened,
        "projected_cost_all": line.projected_cost_all,
        "spent": line.spent,
        "realised_roi": line.realised_roi,
        "observed_success_rate": line.observed_success_rate,
        "baseline_admission_rate": line.baseline_admission_rate,
        "done_share": line.done_share,
    }


def test_realised_figures_match_the_hand_computation(example):
    cardio = Department.objects.get(department_code="CARDIO")
    report = realised_report(department_ids=[cardio.pk], window="30_day", model_version="v1.0")
    tier5, tier4 = report.lines[4], report.lines[3]
    assert _figures(tier5) == {
        "evaluated": 4,
        "intervened": 2,  # P1, P2 (P3 declined)
        "projected_savings": Decimal("2700.00"),  # 540 + 1,080 + 540 + 540
        "realised_savings": Decimal("1800.00"),  # P1 only
        "projected_cost_intervened": Decimal("1200.00"),  # 600 x 2
        "projected_cost_all": Decimal("2400.00"),  # 600 x 4
        "spent": Decimal("550.00"),  # 200 + 300 + 50 (the 999 plan is after the window)
        "realised_roi": Decimal("227.27"),  # (1,800 - 550) / 550 x 100 = 227.2727
        "observed_success_rate": Decimal("50.00"),  # P1 of P1, P2
        "baseline_admission_rate": Decimal("50.00"),  # P3 of P3, P4
        "done_share": Decimal("66.67"),  # 2 done of 3 recorded in the spans
    }
    assert tier5.policy_range == (Decimal("30.000"), Decimal("45.000"))
    assert (tier5.patients, tier5.unrealised) == (4, 0)
    assert _figures(tier4) == {
        "evaluated": 1,
        "intervened": 1,
        "projected_savings": Decimal("540.00"),
        "realised_savings": Decimal("1800.00"),
        "projected_cost_intervened": Decimal("600.00"),
        "projected_cost_all": Decimal("600.00"),
        "spent": Decimal("100.00"),
        "realised_roi": Decimal("1700.00"),  # (1,800 - 100) / 100 x 100
        "observed_success_rate": Decimal("100.00"),
        "baseline_admission_rate": None,  # nobody left without an intervention
        "done_share": Decimal("100.00"),
    }
    assert _figures(report.total) == {
        "evaluated": 5,
        "intervened": 3,
        "projected_savings": Decimal("3240.00"),  # 2,700 + 540
        "realised_savings": Decimal("3600.00"),  # 1,800 + 1,800
        "projected_cost_intervened": Decimal("1800.00"),
        "projected_cost_all": Decimal("3000.00"),
        "spent": Decimal("650.00"),
        "realised_roi": Decimal("453.85"),  # (3,600 - 650) / 650 x 100 = 453.846
        "observed_success_rate": Decimal("66.67"),  # 2 of 3
        "baseline_admission_rate": Decimal("50.00"),
        "done_share": Decimal("75.00"),  # 3 of 4
    }
    empty = report.lines[0]
    assert (empty.evaluated, empty.realised_roi, empty.observed_success_rate) == (0, None, None)


def test_nothing_spent_means_no_roi(model_version):
    patient = _patient("CARDIO", "36500")
    evaluated_projection(patient=patient, version=model_version, day=D)
    cardio = Department.objects.get(department_code="CARDIO")
    total = realised_report(department_ids=[cardio.pk], window="30_day", model_version="v1.0").total
    assert (total.evaluated, total.spent, total.realised_roi) == (1, Decimal("0"), None)
    assert total.unrealised == 1  # projections_realise has not run


def test_coordinator_defaults_to_their_department_and_cannot_pick_another(
    client, example, django_assert_max_num_queries
):
    client.force_login(user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)))
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(reverse("report-realised"))
    assert response.status_code == 200
    assert response.context["department_code"] == "CARDIO"
    assert response.context["version"] == "v1.0" and response.context["window"] == "30_day"
    assert response.context["report"].total.evaluated == 5
    assert [d.department_code for d in response.context["departments"]] == ["CARDIO"]
    # NEPHRO is not theirs: the page stays on their own department.
    response = client.get(reverse("report-realised"), {"department": "NEPHRO"})
    assert response.context["department_code"] == "CARDIO"
    assert response.context["report"].total.evaluated == 5
    html = response.content.decode()
    for patient in example:
        assert str(patient.patient_uuid) not in html and f"/{patient.pk}/" not in html
        assert patient.external_id not in html
    events = AccessEvent.objects.filter(action=AccessAction.REPORT_VIEW)
    assert [e.report for e in events.order_by("event_id")] == ["realised:CARDIO:30_day:v1.0"] * 2
    assert all(e.patient_uuids == [] for e in events)


def test_analyst_sees_the_organisation_and_filters(client, example, django_assert_max_num_queries):
    client.force_login(user_with_role("ana", Role.ANALYST))
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(reverse("report-realised"))
    assert response.status_code == 200
    assert response.context["department_code"] == "all"
    assert response.context["report"].total.evaluated == 6  # the NEPHRO patient too
    nephro = client.get(reverse("report-realised"), {"department": "nephro"})
    assert nephro.context["report"].total.evaluated == 1
    old = client.get(reverse("report-realised"), {"version": "v0.9", "department": "CARDIO"})
    assert old.context["report"].total.evaluated == 1
    other_window = client.get(reverse("report-realised"), {"window": "90_day"})
    assert other_window.context["report"].total.evaluated == 0
    html = client.get(reverse("report-realised"), {"department": "CARDIO"}).content.decode()
    assert "Observed success rate" in html and "30.0\u201345.0%" in html and "227.27%" in html


def test_the_report_is_linked_from_the_workspace_and_the_department_report(client, example):
    client.force_login(user_with_role("admin", Role.PLATFORM_ADMIN))
    url = reverse("report-realised")
    assert url in client.get(reverse("workspace")).content.decode()
    department = client.get(reverse("report-department", args=["CARDIO"])).content.decode()
    assert f"{url}?department=CARDIO" in department
