from decimal import Decimal

import pytest

from predictions.comparison import model_versions_compare

pytestmark = pytest.mark.django_db


def test_comparison_matches_the_hand_built_example(scored_population):
    # tests/scenarios.py at 30 days: A .80 T5 -> .60 T4, B .55 T4 -> .78 T5,
    # C .15 T2 -> .15 T2, D .76 T5 -> .50 T4; E is inactive and A's superseded row ignored.
    result = model_versions_compare(baseline="v1.0", candidate="v1.1")
    w30 = result["windows"]["30_day"]
    expected = [[0] * 5 for _ in range(5)]
    expected[4][3], expected[3][4], expected[1][1] = 2, 1, 1
    assert w30["matrix"] == expected
    assert (w30["patients"], w30["kept"], w30["raised"], w30["lowered"]) == (4, 1, 1, 2)
    assert w30["score_change"]["mean"] == round((-0.20 + 0.23 + 0 - 0.26) / 4, 4)
    assert w30["score_change"]["p50"] == round((-0.20 + 0) / 2, 4)
    movers = [(m["patient_uuid"], m["old_score"], m["new_score"]) for m in w30["top_movers"]]
    patients = scored_population.patients
    assert movers[:3] == [
        (str(patients["D"].patient_uuid), str(Decimal("0.7600")), str(Decimal("0.5000"))),
        (str(patients["B"].patient_uuid), str(Decimal("0.5500")), str(Decimal("0.7800"))),
        (str(patients["A"].patient_uuid), str(Decimal("0.8000")), str(Decimal("0.6000"))),
    ]
    w90 = result["windows"]["90_day"]
    assert (w90["kept"], w90["raised"], w90["lowered"]) == (2, 1, 1)
    assert set(w90["metrics"]) == {"v1.0", "v1.1"}
