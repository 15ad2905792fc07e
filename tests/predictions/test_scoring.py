from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from finance.models import FinancialProjection, InterventionPolicy
from finance.projections import success_rate_actual, success_rate_draw
from predictions.matviews import OrgTierSummary
from predictions.models import Prediction, RunStatus, ScoringRun
from predictions.scoring import patients_needing_score
from predictions.scoring_runs import population_score, scoring_run_create
from predictions.tiers import assign_tiers
from riskplatform.core.models import AuditEvent, AuditLog

pytestmark = pytest.mark.django_db


def _score(chunk_size: int = 10) -> ScoringRun:
    run = scoring_run_create(version="v1.0", changed_by="test", chunk_size=chunk_size)
    return population_score(run_id=run.pk)


def _scores() -> dict[int, dict[str, Decimal]]:
    result: dict[int, dict[str, Decimal]] = {}
    for p in Prediction.objects.filter(superseded_at__isnull=True):
        result.setdefault(p.patient_id, {})[p.prediction_window] = p.risk_score
    return result


def test_population_is_scored_in_chunks_with_projections(active_version, patients_with_features):
    run = _score(chunk_size=10)
    assert (run.status, run.patients_total, run.patients_scored, run.chunks_done) == (
        RunStatus.SUCCEEDED,
        25,
        25,
        3,
    )
    assert (run.predictions_written, run.projections_written) == (75, 75)
    assert Prediction.objects.count() == FinancialProjection.objects.count() == 75
    event = AuditLog.objects.get(event_type=AuditEvent.PREDICTION_RUN)
    assert event.new_values["patients_scored"] == 25 and event.model_version == "v1.0"
    assert sum(event.new_values["tiers"]["30_day"].values()) == 25
    # The version is active, so the views were refreshed after the run.
    counts = OrgTierSummary.objects.filter(prediction_window="90_day")
    assert sum(row.patient_count for row in counts) == 25


def test_risk_never_falls_with_a_longer_window(active_version, patients_with_features):
    _score()
    for windows in _scores().values():
        assert windows["30_day"] <= windows["60_day"] <= windows["90_day"]


def test_tiers_follow_the_versions_thresholds(active_version, patients_with_features):
    _score()
    cutoffs = active_version.tier_thresholds
    for p in Prediction.objects.all():
        expected = assign_tiers([float(p.risk_score)], cutoffs[p.prediction_window])[0]
        assert p.risk_tier == expected


def test_rescoring_is_idempotent(active_version, patients_with_features):
    _score()
    before = _scores()
    second = _score()
    assert (second.patients_total, second.patients_scored, second.predictions_written) == (0, 0, 0)
    assert _scores() == before
    assert Prediction.objects.count() == 75


def test_a_run_interrupted_mid_chunk_resumes_without_duplicates(
    active_version, patients_with_features, monkeypatch
):
    from predictions import scoring_runs

    real_record = scoring_runs.predictions_record
    calls = {"n": 0}

    def interrupted_on_second_chunk(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker stopped")
        return real_record(**kwargs)

    monkeypatch.setattr(scoring_runs, "predictions_record", interrupted_on_second_chunk)
    run = scoring_run_create(version="v1.0", changed_by="test", chunk_size=10)
    with pytest.raises(SystemExit):
        population_score(run_id=run.pk)
    run.refresh_from_db()
    # Still running: the interrupted chunk was given back, to whoever takes part next.
    assert (run.status, run.chunks_done, run.patients_scored) == (RunStatus.RUNNING, 1, 10)
    interrupted = run.chunks.get(chunk_no=1)
    assert (interrupted.status, interrupted.attempts) == ("pending", 1)
    assert interrupted.error == "SystemExit: worker stopped"
    assert Prediction.objects.count() == 30  # the first chunk only, never half a chunk

    monkeypatch.setattr(scoring_runs, "predictions_record", real_record)
    resumed = population_score(run_id=run.pk)
    assert (resumed.status, resumed.patients_scored, resumed.patients_total) == (
        RunStatus.SUCCEEDED,
        25,
        25,
    )
    duplicates = (
        Prediction.objects.values("patient_id", "prediction_window", "model_version")
        .annotate(n=Count("prediction_id"))
        .filter(n__gt=1)
    )
    assert not duplicates.exists()
    assert Prediction.objects.count() == FinancialProjection.objects.count() == 75


def test_projections_match_hand_computed_roi(active_version, patients_with_features):
    _score()
    policies = {(p.prediction_window, p.risk_tier): p for p in InterventionPolicy.objects.all()}
    cent = Decimal("0.01")
    projections = FinancialProjection.objects.select_related("patient", "prediction")
    for fp in projections:
        policy = policies[(fp.projection_window, fp.risk_tier)]
        draw = success_rate_draw(str(fp.patient.patient_uuid), fp.projection_window, "v1.0")
        rate = success_rate_actual(policy.success_rate_min, policy.success_rate_max, draw)
        days = {"30_day": 30, "60_day": 60, "90_day": 90}[fp.projection_window]
        savings = (fp.patient.annual_cost * days * Decimal("0.6") * rate / 365).quantize(cent)
        assert fp.success_rate_actual == rate
        assert fp.intervention_cost == policy.intervention_cost
        assert fp.expected_savings == savings
        assert fp.net_benefit == savings - policy.intervention_cost
        assert fp.projected_date == fp.prediction.prediction_timestamp.date() + timezone.timedelta(
            days=days
        )


def test_changed_features_are_rescored_and_history_is_kept(active_version, patients_with_features):
    _score()
    patient = patients_with_features[0]
    features = patient.features
    features.total_admissions_2008 = Decimal("6")
    features.updated_at = timezone.now()
    features.save()
    assert patients_needing_score(version="v1.0") == [patient.pk]
    run = _score()
    assert run.patients_scored == 1
    assert Prediction.objects.filter(patient=patient).count() == 6
    assert Prediction.objects.filter(patient=patient, superseded_at__isnull=True).count() == 3
    assert FinancialProjection.objects.filter(patient=patient).count() == 6


def test_queries_per_chunk_do_not_grow_with_chunk_size(active_version, patients_with_features):
    def queries(chunk_size: int) -> int:
        Prediction.objects.all().delete()
        run = scoring_run_create(version="v1.0", changed_by="test", chunk_size=chunk_size)
        with CaptureQueriesContext(connection) as captured:
            population_score(run_id=run.pk)
        return len(captured)

    queries(25)  # warms the process's model cache (the artifact is read once)
    one_chunk_of_25 = queries(25)
    one_chunk_of_100 = queries(100)
    assert one_chunk_of_25 == one_chunk_of_100


@pytest.mark.django_db(transaction=True)
def test_two_threads_score_the_same_as_one(reference_data, toy_models, patients_with_features):
    from predictions.model_store import model_cache_clear
    from predictions.services import model_version_activate, model_version_register

    model_cache_clear()
    model_version_register(
        version="v1.0", models=toy_models.models, encoding=toy_models.encoding, changed_by="test"
    )
    model_version_activate(version="v1.0", changed_by="test")
    run = scoring_run_create(version="v1.0", changed_by="test", chunk_size=4)
    run = population_score(run_id=run.pk, workers=2)
    assert (run.status, run.patients_scored, run.chunks_done) == (RunStatus.SUCCEEDED, 25, 7)
    assert Prediction.objects.count() == FinancialProjection.objects.count() == 75
    threaded = _scores()
    Prediction.objects.all().delete()
    population_score(run_id=scoring_run_create(version="v1.0", changed_by="test").pk, workers=1)
    assert _scores() == threaded


def test_a_back_dated_run_dates_its_predictions_and_projections(
    active_version, patients_with_features
):
    from datetime import UTC, date, datetime

    as_of = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    run = scoring_run_create(version="v1.0", changed_by="test", scored_as_of=as_of)
    population_score(run_id=run.pk)
    assert set(Prediction.objects.values_list("prediction_timestamp", flat=True)) == {as_of}
    projected = set(FinancialProjection.objects.values_list("projection_window", "projected_date"))
    assert projected == {("30_day", date(2026, 6, 3)), ("60_day", date(2026, 7, 3)),
                         ("90_day", date(2026, 8, 2))}  # fmt: skip
    with pytest.raises(ValueError, match="future"):
        scoring_run_create(
            version="v1.0", changed_by="test", scored_as_of=timezone.now() + timezone.timedelta(1)
        )
