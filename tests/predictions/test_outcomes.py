from datetime import date, timedelta
from decimal import Decimal

import pytest

from patients.models import Admission, AdmissionSource
from predictions.models import Prediction, PredictionOutcome
from predictions.outcomes import OUTCOME_RULE_VERSION, outcomes_evaluate
from riskplatform.core.models import AuditEvent, AuditLog
from tests import factories
from tests.outcome_factories import at_noon

SCORED_ON = date(2026, 3, 2)  # d: windows cover d+1 .. d+N


def _scored(patient, window: str, version) -> Prediction:
    return factories.PredictionFactory(
        patient=patient, prediction_window=window, model_version=version,
        prediction_timestamp=at_noon(SCORED_ON),
    )  # fmt: skip


def _admitted(patient, day: date) -> Admission:
    return Admission.objects.create(
        patient=patient,
        admission_date=day,
        stay_cost=Decimal("9000.00"),
        source=AdmissionSource.IMPORTED,
        created_by="test",
    )


def _outcome(prediction) -> PredictionOutcome:
    return PredictionOutcome.objects.get(prediction=prediction)


@pytest.fixture
def version(db):
    return factories.ModelVersionFactory(version="v1.0", status="active")


def test_boundary_days_of_a_30_day_window(version):
    last_day, day_after = factories.PatientFactory(), factories.PatientFactory()
    scoring_day, never = factories.PatientFactory(), factories.PatientFactory()
    first_day = factories.PatientFactory()
    predictions = {p: _scored(p, "30_day", version) for p in (last_day, day_after, scoring_day,
                                                              never, first_day)}  # fmt: skip
    _admitted(last_day, SCORED_ON + timedelta(days=30))  # inside: the window's last day
    _admitted(day_after, SCORED_ON + timedelta(days=31))  # after the window
    _admitted(scoring_day, SCORED_ON)  # the day of the score: before the window
    _admitted(first_day, SCORED_ON + timedelta(days=1))  # inside: the first day

    result = outcomes_evaluate(changed_by="test", as_of=SCORED_ON + timedelta(days=31))

    assert result.written == 5 and result.admitted == 2
    inside = _outcome(predictions[last_day])
    assert inside.admitted and inside.first_admission_date == SCORED_ON + timedelta(days=30)
    assert (inside.window_start, inside.window_end) == (
        SCORED_ON + timedelta(days=1),
        SCORED_ON + timedelta(days=30),
    )
    assert inside.rule_version == OUTCOME_RULE_VERSION
    assert _outcome(predictions[first_day]).admitted
    for patient in (day_after, scoring_day, never):
        outcome = _outcome(predictions[patient])
        assert not outcome.admitted and outcome.first_admission_date is None


def test_a_window_is_judged_only_once_it_has_passed(version):
    patient = factories.PatientFactory()
    thirty = _scored(patient, "30_day", version)
    sixty = _scored(patient, "60_day", version)

    outcomes_evaluate(changed_by="test", as_of=SCORED_ON + timedelta(days=30))
    assert not PredictionOutcome.objects.exists()  # day d+30 is not over yet

    outcomes_evaluate(changed_by="test", as_of=SCORED_ON + timedelta(days=31))
    assert PredictionOutcome.objects.filter(prediction=thirty).exists()
    assert not PredictionOutcome.objects.filter(prediction=sixty).exists()


def test_admitted_after_the_30_day_window_counts_inside_the_60_day_one(version):
    patient = factories.PatientFactory()
    thirty, sixty, ninety = (_scored(patient, w, version) for w in ("30_day", "60_day", "90_day"))
    _admitted(patient, SCORED_ON + timedelta(days=45))

    outcomes_evaluate(changed_by="test", as_of=SCORED_ON + timedelta(days=91))

    assert not _outcome(thirty).admitted
    assert _outcome(sixty).first_admission_date == SCORED_ON + timedelta(days=45)
    assert _outcome(ninety).admitted


def test_rerun_is_idempotent_and_a_late_admission_corrects_the_outcome(version):
    patient = factories.PatientFactory()
    prediction = _scored(patient, "30_day", version)
    as_of = SCORED_ON + timedelta(days=40)
    assert outcomes_evaluate(changed_by="test", as_of=as_of).written == 1

    again = outcomes_evaluate(changed_by="test", as_of=as_of)
    assert again.written == 0 and PredictionOutcome.objects.count() == 1

    _admitted(patient, SCORED_ON + timedelta(days=12))  # reported after the first evaluation
    late = outcomes_evaluate(changed_by="test", as_of=as_of)
    assert late.written == 1 and late.admitted == 1
    assert _outcome(prediction).first_admission_date == SCORED_ON + timedelta(days=12)


def test_each_run_is_audited(version):
    _scored(factories.PatientFactory(), "30_day", version)
    outcomes_evaluate(changed_by="worker:outcomes", as_of=SCORED_ON + timedelta(days=31))

    event = AuditLog.objects.get(event_type=AuditEvent.OUTCOMES_EVALUATED)
    assert event.changed_by == "worker:outcomes"
    assert event.new_values["outcomes_written"] == 1
    assert event.new_values["rule_version"] == OUTCOME_RULE_VERSION


def test_postgresql_rejects_an_admission_date_outside_the_window(version, assert_db_rejects):
    prediction = _scored(factories.PatientFactory(), "30_day", version)
    assert_db_rejects(
        lambda: PredictionOutcome.objects.create(
            prediction=prediction,
            window_start=SCORED_ON + timedelta(days=1),
            window_end=SCORED_ON + timedelta(days=30),
            admitted=True,
            first_admission_date=SCORED_ON + timedelta(days=31),
            rule_version=OUTCOME_RULE_VERSION,
        ),
        "prediction_outcomes_admission_in_window",
    )
    assert_db_rejects(
        lambda: PredictionOutcome.objects.create(
            prediction=prediction,
            window_start=SCORED_ON + timedelta(days=1),
            window_end=SCORED_ON + timedelta(days=30),
            admitted=True,
            first_admission_date=None,
            rule_version=OUTCOME_RULE_VERSION,
        ),
        "prediction_outcomes_admitted_has_date",
    )


def test_the_command_judges_as_of_a_day(version):
    from io import StringIO

    from django.core.management import call_command

    _scored(factories.PatientFactory(), "30_day", version)
    for as_of, written in (("2026-04-01", 0), ("2026-04-02", 1)):  # the window ends 04-01
        out = StringIO()
        call_command("evaluate_outcomes", "--as-of", as_of, stdout=out)
        assert out.getvalue().startswith(f"As of {as_of}: {written} outcomes written")
    assert PredictionOutcome.objects.count() == 1
