"""Rule savings-v1 on hand-built cases: who counts as intervened, what is credited, the
boundary days, idempotence and late entries."""

import datetime as dt
from decimal import Decimal

import pytest

from finance.interventions import intervention_record
from finance.models import FinancialProjection, Intervention
from finance.realisation import SAVINGS_RULE_VERSION, projections_realise
from tests.factories import FinancialProjectionFactory, PatientFactory, PredictionFactory
from tests.outcome_factories import at_noon, evaluated_projection

pytestmark = pytest.mark.django_db

D = dt.date(2025, 1, 10)  # the prediction's date
WINDOW_END = D + dt.timedelta(days=30)  # 2025-02-09
# 36,500 a year x 30 / 365 days x 60% addressable = 1,800.00
ADDRESSABLE = Decimal("1800.00")


def _case(model_version, *, admitted=False, interventions=()):
    patient = PatientFactory(annual_cost=Decimal("36500.00"))
    projection = evaluated_projection(
        patient=patient, version=model_version, day=D, admitted=admitted
    )
    for status, day in interventions:
        Intervention.objects.create(
            patient=patient,
            intervention_type="CARE_MANAGER_CALL",
            status=status,
            intervention_date=day,
            cost_spent=Decimal("100.00"),
            recorded_by="test",
        )
    return projection


def _realised(projection) -> tuple:
    projection.refresh_from_db()
    return projection.actual_savings, projection.savings_rule_version


def test_actual_savings_follow_the_rule(model_version):
    assert _case(model_version).addressable_cost == ADDRESSABLE
    cases = {
        "intervened, not admitted": (
            _case(model_version, interventions=[("DONE", D + dt.timedelta(days=5))]),
            ADDRESSABLE,
        ),
        "intervened, admitted": (
            _case(model_version, admitted=True, interventions=[("DONE", D)]),
            Decimal("0.00"),
        ),
        "not intervened, not admitted": (_case(model_version), Decimal("0.00")),
        "not intervened, admitted": (_case(model_version, admitted=True), Decimal("0.00")),
        "done the day after the window": (
            _case(model_version, interventions=[("DONE", WINDOW_END + dt.timedelta(days=1))]),
            Decimal("0.00"),
        ),
        "done the day before the prediction": (
            _case(model_version, interventions=[("DONE", D - dt.timedelta(days=1))]),
            Decimal("0.00"),
        ),
        "declined": (_case(model_version, interventions=[("DECLINED", D)]), Decimal("0.00")),
        "unreachable and planned": (
            _case(model_version, interventions=[("UNREACHABLE", D), ("PLANNED", WINDOW_END)]),
            Decimal("0.00"),
        ),
        "done on the prediction's day": (
            _case(model_version, interventions=[("DONE", D)]),
            ADDRESSABLE,
        ),
        "done on the window's last day": (
            _case(model_version, interventions=[("DONE", WINDOW_END)]),
            ADDRESSABLE,
        ),
    }
    assert projections_realise(changed_by="test") == len(cases) + 1  # and the first _case
    for name, (projection, expected) in cases.items():
        assert _realised(projection) == (expected, SAVINGS_RULE_VERSION), name


def test_projections_without_an_outcome_are_left_alone(model_version):
    unevaluated = FinancialProjectionFactory(
        prediction=PredictionFactory(model_version=model_version, prediction_timestamp=at_noon(D))
    )
    evaluated = _case(model_version, interventions=[("DONE", D)])
    assert projections_realise(changed_by="test") == 1
    assert _realised(unevaluated) == (None, None)
    assert _realised(evaluated) == (ADDRESSABLE, SAVINGS_RULE_VERSION)


def test_a_rerun_changes_nothing(model_version):
    projection = _case(model_version, interventions=[("DONE", D)])
    _case(model_version)
    assert projections_realise(changed_by="test") == 2
    projection.refresh_from_db()
    first = projection.savings_realised_at
    assert projections_realise(changed_by="test") == 0
    projection.refresh_from_db()
    assert (projection.actual_savings, projection.savings_realised_at) == (ADDRESSABLE, first)


def test_only_the_given_predictions_are_realised(model_version):
    chosen = _case(model_version, interventions=[("DONE", D)])
    other = _case(model_version, interventions=[("DONE", D)])
    assert projections_realise(prediction_ids=[chosen.prediction_id], changed_by="t") == 1
    assert _realised(chosen) == (ADDRESSABLE, SAVINGS_RULE_VERSION)
    assert _realised(other) == (None, None)
    assert projections_realise(prediction_ids=[], changed_by="t") == 0


def test_a_late_intervention_re_realises_the_patients_projections(model_version):
    projection = _case(model_version)
    untouched = _case(model_version)
    projections_realise(changed_by="test")
    assert _realised(projection) == (Decimal("0.00"), SAVINGS_RULE_VERSION)
    intervention_record(
        patient=projection.patient,
        prediction=projection.prediction,
        intervention_type="HOME_VISIT",
        status="DONE",
        intervention_date=D + dt.timedelta(days=3),
        cost_spent=Decimal("250.00"),
        notes="",
        recorded_by="nurse",
    )
    assert _realised(projection) == (ADDRESSABLE, SAVINGS_RULE_VERSION)
    untouched.refresh_from_db()
    assert untouched.actual_savings == Decimal("0.00")
    assert FinancialProjection.objects.filter(actual_savings=ADDRESSABLE).count() == 1
