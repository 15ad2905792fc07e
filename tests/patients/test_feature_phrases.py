"""Every feature in a coordinator's words: one case per style, literal expectations."""

from decimal import Decimal

import pytest

from patients.feature_contract import features
from patients.feature_phrases import PHRASINGS, feature_phrase, risk_points, value_phrase


@pytest.mark.parametrize(
    ("name", "value", "typical", "expected"),
    [
        ("total_admissions_2008", 5.0, 0.0, "admissions in the last year: 5 (typical 0)"),
        (
            "total_hospital_days_2008",
            Decimal("2.5"),
            0,
            "days in hospital in the last year: 2.5 (typical 0)",
        ),
        ("age", 78, 71.0, "age: 78 years (typical 71 years)"),
        ("age", "70-79", "70-79", "age: 70-79 (typical 70-79)"),  # an analyst's band
        (
            "days_since_last_admission",
            38.0,
            365.0,
            "last admission: 38 days ago (typical 365 days ago)",
        ),
        ("days_since_last_admission", 1.0, None, "last admission: 1 day ago"),
        ("has_chf", 2, 1, "heart failure: yes (typical no)"),
        ("has_ckd", 0, 1, "chronic kidney disease: not recorded (typical no)"),
        ("recent_admission", 1, 0, "admitted in the last 90 days: yes (typical no)"),
        ("is_elderly", True, None, "aged 65 or over: yes"),
        (
            "total_annual_cost",
            Decimal("12340.49"),
            3100.0,
            "cost of care in the last year: $12,340 (typical $3,100)",
        ),
        (
            "cost_percentile",
            Decimal("0.953"),
            0.5,
            "cost compared with other patients: 95th percentile (typical 50th percentile)",
        ),
        ("cost_percentile", 0.21, None, "cost compared with other patients: 21st percentile"),
        ("cost_percentile", 0.12, None, "cost compared with other patients: 12th percentile"),
        ("frailty_score", Decimal("0.4213"), 0.1, "frailty score (0 to 1): 0.42 (typical 0.10)"),
        ("gender", "F", "M", "gender: F (typical M)"),
        (
            "total_outpatient_visits_2008",
            None,
            6.0,
            "outpatient visits in the last year: not recorded (typical 6)",
        ),
    ],
)
def test_each_kind_of_feature_reads_as_words(name, value, typical, expected):
    assert feature_phrase(name, value, typical) == expected


def test_every_feature_of_the_contract_has_words():
    assert set(PHRASINGS) == {feature.name for feature in features()}
    for feature in features():
        assert value_phrase(feature.name, 1)  # no style falls through


@pytest.mark.parametrize(
    ("effect", "expected"),
    [(0.142, "+14 points of risk"), (0.0071, "+0.7 points of risk"), (0.1, "+10 points of risk")],
)
def test_an_effect_reads_as_points_of_risk(effect, expected):
    assert risk_points(effect) == expected
