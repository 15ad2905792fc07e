"""The seed's own SQL, pasted unchanged from design.md, runs against the schema.

Where the seed's joins are wrong (Query 2, Query 3 and its comparison query pair rows of
every window and version with each other), the platform's corrected selectors give the
hand-counted answers of tests/scenarios.py, and the seed's answers show the flaw.
"""

from decimal import Decimal

import pytest
from django.db import ProgrammingError, connection, transaction

from finance.selectors import intervention_totals
from finance.services import views_refresh
from patients.models import Department
from predictions.selectors import TierChangeSummary, model_version_comparison

pytestmark = pytest.mark.django_db

SEED_QUERY_1 = """
SELECT *
FROM roi_positive_patients
WHERE projection_window = '30_day'
AND roi_grade IN ('EXCELLENT', 'EXCEPTIONAL')
ORDER BY roi_percentage DESC
LIMIT 50;
"""

SEED_QUERY_2 = """
SELECT
    SUM(fp.intervention_cost) as total_intervention_cost,
    SUM(fp.expected_savings) as total_expected_savings,
    COUNT(DISTINCT p.patient_id) as patient_count
FROM patients p
JOIN predictions pred ON p.patient_id = pred.patient_id
JOIN financial_projections fp ON p.patient_id = fp.patient_id
WHERE pred.risk_tier = 5
AND pred.prediction_window = '30_day';
"""

SEED_QUERY_3 = """
SELECT
    COUNT(*) as total_predictions,
    COUNT(*) FILTER (WHERE old_tier = new_tier) as tier_unchanged,
    COUNT(*) FILTER (WHERE old_tier != new_tier) as tier_changed,
    COUNT(*) FILTER (WHERE new_tier > old_tier) as risk_increased
FROM (
    SELECT
        old.patient_id,
        old.risk_tier as old_tier,
        new.risk_tier as new_tier
    FROM predictions old
    JOIN predictions new ON old.patient_id = new.patient_id
    WHERE old.model_version = 'v1.0'
    AND new.model_version = 'v1.1'
) changes;
"""

SEED_GOOD_QUERY = """
SELECT p.patient_id, p.age, pred.risk_score
FROM patients p
JOIN predictions pred ON p.patient_id = pred.patient_id
WHERE p.department_id = 3  -- Index exists
AND pred.prediction_window = '30_day'  -- Part of composite index
AND pred.risk_tier = 5;
"""

SEED_FAST_QUERY = """
SELECT * FROM dept_risk_distribution
WHERE department_id = 3
AND prediction_window = '30_day'
AND critical_risk_count > 0;
"""

SEED_COMPARISON_QUERY = """
SELECT
    p.patient_id,
    old_pred.risk_score as old_score,
    new_pred.risk_score as new_score,
    old_pred.risk_tier as old_tier,
    new_pred.risk_tier as new_tier,
    ABS(new_pred.risk_score - old_pred.risk_score) as score_change
FROM predictions old_pred
JOIN predictions new_pred ON old_pred.patient_id = new_pred.patient_id
WHERE old_pred.model_version = 'v1.0'
AND new_pred.model_version = 'v1.1'
ORDER BY score_change DESC;
"""


def _fetch(sql: str) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture
def population(scored_population):
    # The seed's queries hard-code department_id = 3: Nephrology, third in its sample data.
    assert Department.objects.get(department_code="NEPHRO").pk == 3
    views_refresh(changed_by="test")
    return scored_population


def test_query_1_high_roi_patients(population):
    rows = _fetch(SEED_QUERY_1)
    assert [(r["patient_uuid"], r["roi_percentage"], r["roi_grade"]) for r in rows] == [
        (population.patients["A"].patient_uuid, Decimal("146.58"), "EXCEPTIONAL"),
        (population.patients["D"].patient_uuid, Decimal("64.38"), "EXCELLENT"),
    ]


def test_query_2_runs_but_overcounts_and_the_corrected_selector_does_not(population):
    (seed,) = _fetch(SEED_QUERY_2)
    corrected = intervention_totals(window="30_day")
    # Current 30-day T5 predictions: A and D. Policy: $900 each. Savings 2,219.18 + 1,479.45.
    assert corrected.patient_count == 2
    assert corrected.total_intervention_cost == Decimal("1800.00")
    assert corrected.total_expected_savings == Decimal("3698.63")
    assert corrected.net_benefit == Decimal("1898.63")
    # The seed joins every projection of the patient (all windows and versions) and counts
    # the candidate's T5 for B and the inactive E as well.
    assert seed["patient_count"] == 4
    assert seed["total_intervention_cost"] > 5 * corrected.total_intervention_cost


def test_query_2_corrected_for_tier_4_and_up_per_department(population):
    nephro = intervention_totals(window="30_day", min_tier=4, department_id=3)
    # A (T5, $900) and B (T4, $600; 30,000 x 30 x .6 x .2 / 365 = 295.89).
    assert nephro.patient_count == 2
    assert nephro.total_intervention_cost == Decimal("1500.00")
    assert nephro.total_expected_savings == Decimal("2219.18") + Decimal("295.89")


def test_query_3_runs_but_pairs_windows_and_the_corrected_selector_does_not(population):
    (seed,) = _fetch(SEED_QUERY_3)
    assert seed["total_predictions"] == 4 * 3 * 3 + 3  # A's superseded row pairs too
    assert model_version_comparison(old_version="v1.0", new_version="v1.1") == [
        TierChangeSummary("30_day", 4, 1, 3, 1, 2),
        TierChangeSummary("60_day", 4, 2, 2, 1, 1),
        TierChangeSummary("90_day", 4, 2, 2, 1, 1),
    ]


def test_good_query_uses_the_seed_filters(population):
    rows = _fetch(SEED_GOOD_QUERY)
    # Nephrology's 30-day T5 rows of any version: A under v1.0, B under v1.1, inactive E.
    assert sorted(r["risk_score"] for r in rows) == [Decimal(".78"), Decimal(".80"), Decimal(".95")]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + SEED_GOOD_QUERY)
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "predictions" in plan


def test_fast_query_reads_the_view(population):
    (row,) = _fetch(SEED_FAST_QUERY)
    assert (row["department_name"], row["critical_risk_count"], row["high_risk_count"]) == (
        "Nephrology",
        1,
        2,
    )


def test_comparison_query_needs_one_alias_fixed_then_pairs_every_window(population):
    # The seed selects p.patient_id but has no table p in FROM: no schema can run it as is.
    with (
        pytest.raises(ProgrammingError, match='missing FROM-clause entry for table "p"'),
        transaction.atomic(),
    ):
        _fetch(SEED_COMPARISON_QUERY)
    rows = _fetch(SEED_COMPARISON_QUERY.replace("p.patient_id", "old_pred.patient_id"))
    assert len(rows) == 39
    assert rows[0]["score_change"] >= rows[-1]["score_change"]
