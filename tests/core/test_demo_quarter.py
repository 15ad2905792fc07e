"""The demo's simulated quarter (riskplatform/demo.py, riskplatform/demo_outcomes.py)."""

import math
from datetime import timedelta

import pandas as pd
import pytest
from django.db.models import Q
from django.utils import timezone

from finance.models import FinancialProjection, Intervention, InterventionStatus
from patients.models import Admission, AdmissionSource
from predictions.models import ModelMonitoringRun, Prediction, PredictionOutcome
from riskplatform.demo import DEMO_PERIOD_DAYS, demo_quarter_play
from tests.scenarios import quarter_played

pytestmark = pytest.mark.django_db


@pytest.fixture
def played(reference_data, small_cohort, tmp_path):
    files, trained = small_cohort
    return files, quarter_played(files=files, trained=trained, out_dir=tmp_path, seed=11)


def test_the_worked_patients_follow_each_departments_worklist_flags(played):
    scored_on = timezone.localdate() - timedelta(days=DEMO_PERIOD_DAYS)
    interventions = Intervention.objects.select_related("prediction", "patient__department")
    assert interventions.exists()
    for i in interventions:
        department, prediction = i.patient.department, i.prediction
        assert prediction.prediction_window == "30_day" and prediction.risk_tier >= 4
        assert department.flag_critical_risk if prediction.risk_tier == 5 else True
        assert department.flag_high_risk if prediction.risk_tier == 4 else True
        assert scored_on + timedelta(days=1) <= i.intervention_date <= scored_on + timedelta(14)
        assert (i.cost_spent is None) == (i.status == InterventionStatus.PLANNED)
    statuses = set(interventions.values_list("status", flat=True))
    assert InterventionStatus.DONE in statuses


def test_admissions_are_the_ground_truths_minus_those_a_done_intervention_prevented(played):
    files, _ = played
    scored_on = timezone.localdate() - timedelta(days=DEMO_PERIOD_DAYS)
    truth = pd.read_csv(files.truth).dropna(subset=["days_to_admission"])
    expected = {row.external_id: scored_on + timedelta(days=math.ceil(row.days_to_admission))
                for row in truth.itertuples()}  # fmt: skip
    admitted = {
        a.patient.external_id: a.admission_date for a in Admission.objects.select_related("patient")
    }
    assert set(Admission.objects.values_list("source", flat=True)) == {AdmissionSource.SIMULATED}
    assert all(expected[e] == day for e, day in admitted.items())
    prevented = set(expected) - set(admitted)
    assert prevented  # some done interventions worked
    for external_id in prevented:
        done = Intervention.objects.get(
            patient__external_id=external_id, status=InterventionStatus.DONE
        )
        assert done.intervention_date < expected[external_id]


def test_every_back_dated_window_is_judged_and_realised_and_today_is_scored(played):
    past = Prediction.objects.filter(superseded_at__isnull=False)
    today = Prediction.objects.filter(superseded_at__isnull=True)
    assert past.count() == today.count() == 3 * 400
    assert PredictionOutcome.objects.filter(prediction__in=past).count() == past.count()
    assert not PredictionOutcome.objects.filter(prediction__in=today).exists()
    realised = FinancialProjection.objects.filter(prediction__in=past)
    assert not realised.filter(Q(actual_savings__isnull=True)).exists()
    assert realised.filter(actual_savings__gt=0).exists()
    assert ModelMonitoringRun.objects.filter(model_version="v1.0", status="succeeded").exists()


def test_playing_again_changes_nothing(played):
    _, play = played
    counts = (Intervention.objects.count(), Admission.objects.count(),
              PredictionOutcome.objects.count(), Prediction.objects.count())  # fmt: skip
    demo_quarter_play(**play)
    assert counts == (Intervention.objects.count(), Admission.objects.count(),
                      PredictionOutcome.objects.count(), Prediction.objects.count())  # fmt: skip
