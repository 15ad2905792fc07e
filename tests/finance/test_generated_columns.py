"""PostgreSQL computes every generated money column to the cent.

Expected values were computed by hand (and checked with Python's Decimal, half-up rounding):
e.g. 54,321.99 a year over 90 days is 54,321.99 x 90 / 365 = 13,394.4632... -> 13,394.46.
"""

from decimal import Decimal as D

import pytest

from tests.factories import FinancialProjectionFactory, PredictionFactory

pytestmark = pytest.mark.django_db


def _projection(patient, model_version, window, **values):
    prediction = PredictionFactory(
        patient=patient, model_version=model_version, prediction_window=window
    )
    projection = FinancialProjectionFactory(prediction=prediction, **values)
    projection.refresh_from_db()
    return projection


@pytest.mark.parametrize(
    ("window", "values", "expected"),
    [
        (
            "30_day",
            {
                "annual_cost": D("36500.00"),
                "intervention_cost": D("900.00"),
                "success_rate_min": D("0.300"),
                "success_rate_max": D("0.450"),
                "success_rate_actual": D("0.400"),
            },
            {
                "daily_cost": D("100.00"),
                "window_cost": D("3000.00"),
                "addressable_cost": D("1800.00"),
                "expected_savings": D("720.00"),
                "net_benefit": D("-180.00"),
                "roi_percentage": D("-20.00"),
                "roi_category": "BREAKEVEN",
            },
        ),
        (
            "90_day",
            {
                "annual_cost": D("54321.99"),
                "intervention_cost": D("1300.00"),
                "success_rate_min": D("0.200"),
                "success_rate_max": D("0.350"),
                "success_rate_actual": D("0.350"),
            },
            {
                "daily_cost": D("148.83"),  # 148.8273...
                "window_cost": D("13394.46"),  # 13,394.4632...
                "addressable_cost": D("8036.68"),  # x 0.6 = 8,036.6779...
                "expected_savings": D("2812.84"),  # x 0.35 = 2,812.8373...
                "net_benefit": D("1512.84"),
                "roi_percentage": D("116.37"),  # 1,512.84 / 1,300 = 1.163723...
                "roi_category": "HIGHLY_POSITIVE",
            },
        ),
        (
            "60_day",
            {
                "annual_cost": D("18250.00"),
                "addressable_cost_pct": D("0.500"),
                "intervention_cost": D("275.00"),
                "success_rate_min": D("0.050"),
                "success_rate_max": D("0.150"),
                "success_rate_actual": D("0.125"),
            },
            {
                "daily_cost": D("50.00"),
                "window_cost": D("3000.00"),
                "addressable_cost": D("1500.00"),
                "expected_savings": D("187.50"),
                "net_benefit": D("-87.50"),
                "roi_percentage": D("-31.82"),  # -87.5 / 275 = -0.318181...
                "roi_category": "NEGATIVE",
            },
        ),
    ],
)
def test_generated_columns_match_hand_computed_rows(
    patient, model_version, window, values, expected
):
    projection = _projection(patient, model_version, window, **values)
    assert {name: getattr(projection, name) for name in expected} == expected


@pytest.mark.parametrize(
    ("success_rate", "roi", "category"),
    [
        # 36,500 a year, 30 days, 50% addressable: 1,500.00 x rate; intervention costs 100.00.
        (D("0.100"), D("50.00"), "HIGHLY_POSITIVE"),
        (D("0.099"), D("48.50"), "POSITIVE"),
        (D("0.067"), D("0.50"), "POSITIVE"),
        (D("0.050"), D("-25.00"), "BREAKEVEN"),
        (D("0.049"), D("-26.50"), "NEGATIVE"),
    ],
)
def test_roi_category_boundaries(patient, model_version, success_rate, roi, category):
    projection = _projection(
        patient,
        model_version,
        "30_day",
        annual_cost=D("36500.00"),
        addressable_cost_pct=D("0.500"),
        intervention_cost=D("100.00"),
        success_rate_min=None,
        success_rate_max=None,
        success_rate_actual=success_rate,
    )
    assert (projection.roi_percentage, projection.roi_category) == (roi, category)


def test_no_intervention_has_no_roi(patient, model_version):
    projection = _projection(
        patient,
        model_version,
        "30_day",
        annual_cost=D("36500.00"),
        intervention_cost=D("0.00"),
        success_rate_min=D("0"),
        success_rate_max=D("0"),
        success_rate_actual=D("0"),
    )
    assert projection.expected_savings == D("0.00")
    assert projection.net_benefit == D("0.00")
    assert projection.roi_percentage is None
    assert projection.roi_category == "NOT_APPLICABLE"


def test_addressable_pct_defaults_to_60_percent_in_the_database(patient, model_version):
    from django.db import connection

    prediction = PredictionFactory(patient=patient, model_version=model_version)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO financial_projections (patient_id, prediction_id, projection_window, "
            "days_in_window, annual_cost, risk_tier, intervention_cost, success_rate_actual) "
            "VALUES (%s, %s, '30_day', 30, 36500, 3, 350, 0.2) "
            "RETURNING addressable_cost_pct, addressable_cost, expected_savings",
            [patient.pk, prediction.pk],
        )
        assert cursor.fetchone() == (D("0.600"), D("1800.00"), D("360.00"))
