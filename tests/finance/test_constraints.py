from decimal import Decimal

import pytest

from finance.models import InterventionPolicy
from tests.factories import FinancialProjectionFactory, PredictionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def prediction(patient, model_version):
    return PredictionFactory(
        patient=patient, model_version=model_version, risk_score=Decimal("0.6")
    )


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"days_in_window": 60}, "projection_days_match_window"),
        (
            {"projection_window": "45_day", "days_in_window": 45},
            ("projection_window_valid", "projection_days_match_window"),
        ),
        ({"annual_cost": Decimal("-1")}, "projection_annual_cost_non_negative"),
        ({"intervention_cost": Decimal("-0.01")}, "projection_intervention_cost_non_negative"),
        ({"risk_tier": 6}, "projection_risk_tier_1_5"),
        ({"addressable_cost_pct": Decimal("1.2")}, "projection_addressable_pct_0_1"),
        ({"success_rate_actual": Decimal("0.100")}, "projection_success_actual_ge_min"),
        ({"success_rate_actual": Decimal("0.400")}, "projection_success_actual_le_max"),
        (
            {"success_rate_min": None, "success_rate_max": None, "success_rate_actual": 2},
            "projection_success_actual_0_1",
        ),
        (
            {"success_rate_min": Decimal("0.5"), "success_rate_max": Decimal("0.4")},
            # No actual rate can sit inside an inverted range, so a bound check may fire first.
            (
                "projection_success_min_le_max",
                "projection_success_actual_ge_min",
                "projection_success_actual_le_max",
            ),
        ),
        ({"success_rate_min": Decimal("-0.1")}, "projection_success_min_0_1"),
        ({"success_rate_max": Decimal("1.1")}, "projection_success_max_0_1"),
    ],
)
def test_projection_rule(assert_db_rejects, prediction, values, constraint):
    assert_db_rejects(
        lambda: FinancialProjectionFactory(prediction=prediction, **values), constraint
    )


def test_one_projection_per_prediction(assert_db_rejects, prediction):
    FinancialProjectionFactory(prediction=prediction)
    assert_db_rejects(
        lambda: FinancialProjectionFactory(prediction=prediction),
        "financial_projections_prediction_id_key",
    )


def test_default_policies_cover_every_window_and_tier():
    policies = InterventionPolicy.objects.all()
    assert {(p.prediction_window, p.risk_tier) for p in policies} == {
        (w, t) for w in ("30_day", "60_day", "90_day") for t in range(1, 6)
    }
    top = {p.prediction_window: p.intervention_cost for p in policies if p.risk_tier == 5}
    assert top == {"30_day": 900, "60_day": 1650, "90_day": 1900}
    for window in ("30_day", "60_day", "90_day"):
        tiers = policies.filter(prediction_window=window).order_by("risk_tier")
        costs = [p.intervention_cost for p in tiers]
        floors = [p.success_rate_min for p in tiers]
        assert costs[0] == 0 and costs == sorted(costs)
        assert floors == sorted(floors)


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"intervention_cost": Decimal("-5")}, "policy_intervention_cost_non_negative"),
        (
            {"success_rate_min": Decimal("0.5"), "success_rate_max": Decimal("0.2")},
            "policy_success_min_le_max",
        ),
        ({"success_rate_max": Decimal("1.5")}, "policy_success_max_0_1"),
        ({"addressable_cost_pct": Decimal("-0.1")}, "policy_addressable_pct_0_1"),
    ],
)
def test_policy_rule(assert_db_rejects, values, constraint):
    policy = InterventionPolicy.objects.get(prediction_window="30_day", risk_tier=4)
    assert_db_rejects(
        lambda: InterventionPolicy.objects.filter(pk=policy.pk).update(**values), constraint
    )


def test_one_policy_per_window_and_tier(assert_db_rejects):
    assert_db_rejects(
        lambda: InterventionPolicy.objects.create(
            prediction_window="30_day",
            risk_tier=3,
            intervention_cost=1,
            success_rate_min=0,
            success_rate_max=0,
        ),
        "intervention_policy_window_tier",
    )
