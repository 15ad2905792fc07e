"""The reporting views, refreshed concurrently, over tests/scenarios.py."""

from decimal import Decimal

import pytest
from django.db import connection

from finance.models import RoiPositivePatient
from finance.services import views_refresh
from predictions.models import DeptRiskDistribution, ModelVersion, OrgTierSummary
from riskplatform.core.models import AuditEvent, AuditLog

pytestmark = pytest.mark.django_db

VIEWS = ("org_tier_summary", "dept_risk_distribution", "roi_positive_patients", "roi_tier_summary")


@pytest.fixture
def refreshed(scored_population):
    views_refresh(changed_by="test")
    return scored_population


@pytest.mark.parametrize("view", VIEWS)
def test_each_view_has_a_unique_index_and_refreshes_concurrently(scored_population, view):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
            "WHERE c.relname = %s AND c.relkind = 'm' AND i.indisunique",
            [view],
        )
        assert cursor.fetchone() == (1,)
        # PostgreSQL raises "cannot refresh materialized view concurrently" otherwise. As the
        # view's owner: the application's role refreshes through the definer function.
        cursor.execute("SELECT platform_matview_refresh(%s, true)", [view])
        cursor.execute(f"SELECT count(*) FROM {view}")
        assert cursor.fetchone()[0] > 0


def test_refresh_service_records_a_view_refresh_event(scored_population):
    timings = views_refresh(changed_by="analyst")
    assert set(timings) == set(VIEWS)
    event = AuditLog.objects.get(event_type=AuditEvent.VIEW_REFRESH)
    assert event.changed_by == "analyst"
    assert set(event.new_values["seconds"]) == set(VIEWS)


def _tiers(window: str) -> dict[int, tuple]:
    return {
        row.risk_tier: (row.patient_count, row.percentage, row.critical_count)
        for row in OrgTierSummary.objects.filter(prediction_window=window)
    }


def test_org_tier_summary_counts_current_predictions_of_the_active_version(refreshed):
    assert OrgTierSummary.objects.count() == 15
    # A T5, B T4, C T2, D T5. Not: E (inactive), A's superseded .30, any v1.1 row.
    assert _tiers("30_day") == {
        1: (0, Decimal("0.00"), 0),
        2: (1, Decimal("25.00"), 0),
        3: (0, Decimal("0.00"), 0),
        4: (1, Decimal("25.00"), 0),
        5: (2, Decimal("50.00"), 2),
    }
    critical = OrgTierSummary.objects.get(prediction_window="30_day", risk_tier=5)
    assert critical.avg_risk_score == Decimal("0.7800")  # (.80 + .76) / 2
    assert (critical.min_risk_score, critical.max_risk_score) == (Decimal(".76"), Decimal(".80"))
    assert critical.model_version == "v1.0"
    assert _tiers("90_day")[3] == (1, Decimal("25.00"), 0)  # C at .30


def test_dept_risk_distribution_includes_departments_without_patients(refreshed):
    nephro = DeptRiskDistribution.objects.get(department_code="NEPHRO", prediction_window="30_day")
    assert (nephro.high_risk_count, nephro.critical_risk_count, nephro.total_patients) == (2, 1, 3)
    assert nephro.high_risk_percentage == Decimal("66.67")
    assert nephro.avg_risk_score == Decimal("0.5000")  # (.80 + .55 + .15) / 3
    cardio = DeptRiskDistribution.objects.get(department_code="CARDIO", prediction_window="30_day")
    assert (cardio.high_risk_count, cardio.total_patients, cardio.high_risk_percentage) == (
        1,
        1,
        Decimal("100.00"),
    )
    empty = DeptRiskDistribution.objects.filter(department_code="PULMO")
    assert [(r.prediction_window, r.total_patients, r.high_risk_count) for r in empty] == [
        ("30_day", 0, 0),
        ("60_day", 0, 0),
        ("90_day", 0, 0),
    ]
    assert all(r.high_risk_percentage == 0 and r.avg_risk_score is None for r in empty)
    assert DeptRiskDistribution.objects.count() == 6 * 3


def test_roi_positive_patients_joins_each_projection_to_its_own_prediction(refreshed):
    rows = RoiPositivePatient.objects.order_by("projection_window", "-roi_percentage")
    assert [(r.patient_uuid, r.projection_window, r.roi_percentage, r.roi_grade) for r in rows] == [
        (refreshed.patients["A"].patient_uuid, "30_day", Decimal("146.58"), "EXCEPTIONAL"),
        (refreshed.patients["D"].patient_uuid, "30_day", Decimal("64.38"), "EXCELLENT"),
        (refreshed.patients["A"].patient_uuid, "60_day", Decimal("168.99"), "EXCEPTIONAL"),
        (refreshed.patients["D"].patient_uuid, "60_day", Decimal("79.33"), "EXCELLENT"),
        (refreshed.patients["A"].patient_uuid, "90_day", Decimal("250.40"), "EXCEPTIONAL"),
        (refreshed.patients["D"].patient_uuid, "90_day", Decimal("133.60"), "EXCEPTIONAL"),
    ]
    a30 = rows[0]
    assert (a30.expected_savings, a30.intervention_cost, a30.net_benefit) == (
        Decimal("2219.18"),
        Decimal("900.00"),
        Decimal("1319.18"),
    )
    assert a30.model_version == "v1.0" and a30.department_code == "NEPHRO"


def test_views_follow_the_active_version_not_the_candidate(refreshed):
    assert _tiers("30_day")[5][0] == 2
    ModelVersion.objects.filter(version="v1.0").update(status="retired")
    ModelVersion.objects.filter(version="v1.1").update(status="active")
    views_refresh(changed_by="test")
    # v1.1 at 30 days: A T4, B T5, C T2, D T4.
    assert _tiers("30_day") == {
        1: (0, Decimal("0.00"), 0),
        2: (1, Decimal("25.00"), 0),
        3: (0, Decimal("0.00"), 0),
        4: (2, Decimal("50.00"), 0),
        5: (1, Decimal("25.00"), 1),
    }
    assert OrgTierSummary.objects.filter(model_version="v1.1").count() == 15
