"""Live model monitoring on real PostgreSQL: observed performance from prediction_outcomes
against sklearn on the same data, warnings on the model card and in the admin, failed runs,
the daily schedule and early retraining."""

import datetime as dt
import json

import numpy as np
import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask
from sklearn.metrics import brier_score_loss, roc_auc_score

from patients.services import user_role_assign
from predictions.models import ModelComparison, ModelMonitoringRun, RunStatus
from predictions.monitoring_services import model_version_monitor
from predictions.tasks import monitor_models_task, reevaluate_task
from riskplatform.celery import app
from riskplatform.core.models import AuditEvent, AuditLog
from riskplatform.core.roles import Role
from tests.factories import ModelVersionFactory, PatientFeaturesFactory, PredictionFactory
from tests.monitoring_factories import judged_prediction

pytestmark = pytest.mark.django_db

JAN, FEB = dt.date(2026, 1, 15), dt.date(2026, 2, 15)
SCORES = [f"0.{k}000" for k in range(1, 10)]  # 0.1 .. 0.9
PER_SCORE = 20


def _version(*, training_auc: float | None = 0.80, status: str = "active", label="v1.0",
             **metrics):  # fmt: skip
    windows = {
        "30_day": {
            "auc": training_auc,
            "brier": 0.17,
            "observed_rate": 0.5,
            "mean_predicted": 0.5,
            "calibration_slope": 1.0,
            "calibration_intercept": 0.0,
            "by_race": {"White": {"auc": 0.81}},
        }
    }
    return ModelVersionFactory(version=label, status=status,
                               metrics={"windows": windows, **metrics})  # fmt: skip


def _judged_set(version) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """180 outcomes, perfectly calibrated by construction: of the 20 predictions at score
    s, 20 * s were admitted. Alternating months, races and genders. Returns (y, p, month)."""
    y, p, months = [], [], []
    i = 0
    for score in SCORES:
        admitted = round(float(score) * PER_SCORE)
        for k in range(PER_SCORE):
            day = JAN if i % 2 else FEB
            judged_prediction(
                version=version,
                day=day,
                score=score,
                admitted=k < admitted,
                race="White" if i % 3 else "Black",
                gender="F" if i % 2 else "M",
            )
            y.append(int(k < admitted))
            p.append(float(score))
            months.append(day.strftime("%Y-%m"))
            i += 1  # fmt: skip
    return np.array(y), np.array(p), np.array(months)


@pytest.fixture
def judged():
    version = _version()
    return version, *_judged_set(version)


def test_observed_auc_brier_and_calibration_equal_sklearn_on_the_same_outcomes(judged):
    _, y, p, months = judged
    run = model_version_monitor(version="v1.0", changed_by="test")
    run.refresh_from_db()  # what was stored, not what was computed
    assert run.status == RunStatus.SUCCEEDED and run.error == ""
    window = run.results["observed"]["windows"]["30_day"]
    overall = window["overall"]
    assert (overall["n"], overall["admissions"]) == (180, int(y.sum()))
    assert abs(overall["auc"] - roc_auc_score(y, p)) < 1e-9
    assert abs(overall["brier"] - brier_score_loss(y, p)) < 1e-9
    # Calibrated by construction: mean predicted = observed rate, slope 1, intercept 0.
    assert abs(overall["calibration_in_the_large"]) < 1e-9
    assert overall["calibration_slope"] == pytest.approx(1.0, abs=1e-3)
    assert overall["calibration_intercept"] == pytest.approx(0.0, abs=1e-3)
    assert window["training"]["auc"] == 0.80 and window["judged"] is True
    for row in window["by_month"]:
        mask = months == row["month"]
        assert row["n"] == mask.sum() == 90
        assert abs(row["auc"] - roc_auc_score(y[mask], p[mask])) < 1e-9
        assert abs(row["brier"] - brier_score_loss(y[mask], p[mask])) < 1e-9
    assert [row["month"] for row in window["by_month"]] == ["2026-01", "2026-02"]
    assert set(window["by_race"]) == {"White", "Black"}
    assert window["by_race"]["White"]["training_auc"] == 0.81
    assert set(window["by_gender"]) == {"F", "M"}
    assert run.results["observed"]["outcomes"] == 180
    # Within the margin (training 0.80, observed about 0.77) and calibrated: no warning.
    assert roc_auc_score(y, p) > 0.80 - 0.05
    assert run.warnings == []
    # No stored training distribution: drift is skipped with the reason, not failed.
    assert run.results["drift"]["available"] is False
    assert "retrain" in run.results["drift"]["message"]
    event = AuditLog.objects.get(event_type=AuditEvent.MODEL_MONITORED)
    assert (event.entity_id, event.model_version) == (run.pk, "v1.0")
    assert event.new_values["status"] == "succeeded" and event.new_values["outcomes"] == 180


def test_one_class_gives_no_auc_and_small_windows_are_not_judged(settings):
    version = _version(training_auc=0.99)
    for _ in range(30):
        judged_prediction(version=version, day=JAN, score="0.9000", admitted=False,
                          window="60_day")  # fmt: skip
    settings.MONITORING_MIN_OUTCOMES = 50
    run = model_version_monitor(version="v1.0", changed_by="test")
    observed = run.results["observed"]["windows"]["60_day"]
    assert observed["overall"]["auc"] is None and observed["overall"]["admissions"] == 0
    assert observed["overall"]["brier"] == pytest.approx(0.81)
    # Badly calibrated, but 30 outcomes are fewer than the minimum: shown, not warned.
    assert observed["judged"] is False and run.warnings == []


@pytest.fixture
def analyst_client(client, django_user_model):
    django_user_model.objects.create_user(username="ana", password="not-used-here")
    user_role_assign(username="ana", role=Role.ANALYST, department_codes=[], changed_by="test")
    client.force_login(django_user_model.objects.get(username="ana"))
    return client


@pytest.mark.parametrize(("gap", "warned"), [(0.06, True), (0.04, False)])
def test_auc_warning_on_the_card_and_in_the_admin_only_beyond_the_margin(
    gap, warned, analyst_client, admin_client
):
    version = _version(training_auc=None)
    y, p, _ = _judged_set(version)
    observed_auc = roc_auc_score(y, p)
    version.metrics["windows"]["30_day"]["auc"] = round(observed_auc + gap, 4)
    version.save(update_fields=["metrics"])
    run = model_version_monitor(version="v1.0", changed_by="test")
    assert [w["kind"] for w in run.warnings] == (["auc"] if warned else [])

    card = analyst_client.get(reverse("model-card", args=["v1.0"])).content.decode()
    assert 'id="monitoring"' in card and "Observed performance" in card
    assert f"{observed_auc:.3f}" in card  # the observed-against-training table
    assert ("Monitoring warnings" in card) is warned
    assert ("more than 0.05 below the training AUC" in card) is warned

    changelist = admin_client.get(reverse("admin:predictions_modelversion_changelist"))
    change = admin_client.get(reverse("admin:predictions_modelversion_change", args=[version.pk]))
    assert changelist.status_code == change.status_code == 200
    listed, page = changelist.content.decode(), change.content.decode()
    assert ("1 warning" in listed) is warned and ("no warning" in listed) is not warned
    assert ("below the training AUC" in page) is warned
    assert (f"Run {run.pk} of" in page) and (("No warning." in page) is not warned)


def test_a_failed_run_keeps_status_and_error_and_re_raises(analyst_client):
    # A stored training distribution in a shape monitoring cannot read: a real failure.
    version = _version(drift_reference={"version": 1, "features": {"age": {"kind": "binned"}}})
    patient = PatientFeaturesFactory().patient
    PredictionFactory(patient=patient, model_version=version)
    with pytest.raises(KeyError, match="edges"):
        model_version_monitor(version="v1.0", changed_by="test")
    run = ModelMonitoringRun.objects.get()
    assert run.status == RunStatus.FAILED and run.error == "KeyError: 'edges'"
    assert run.finished_at is not None and run.warnings == []
    event = AuditLog.objects.get(event_type=AuditEvent.MODEL_MONITORED)
    assert event.new_values["status"] == "failed" and event.entity_id == run.pk
    card = analyst_client.get(reverse("model-card", args=["v1.0"])).content.decode()
    assert "The latest monitoring run failed" in card


def test_migration_schedules_the_daily_monitoring():
    task = PeriodicTask.objects.get(task="predictions.monitor_models")
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("0", "4", "*")
    assert task.enabled


def test_the_task_monitors_the_active_version_and_the_candidates():
    _version()
    _version(label="v1.1", status="candidate")
    _version(label="v0.9", status="retired")
    result = monitor_models_task()
    assert set(result["runs"]) == {"v1.0", "v1.1"}
    assert result["reevaluation_enqueued"] is False
    assert ModelMonitoringRun.objects.filter(status=RunStatus.SUCCEEDED).count() == 2


def _warned_active_version():
    version = _version(training_auc=0.99)
    _judged_set(version)
    return version


def _queued_task_names() -> list[str]:
    """Names of the tasks waiting in the broker's default queue (Redis list "celery")."""
    with app.connection_for_read() as connection:
        raw = connection.default_channel.client.lrange("celery", 0, -1)
    return [json.loads(message)["headers"]["task"] for message in raw]


def test_retrain_on_warning_enqueues_the_reevaluation(settings, django_capture_on_commit_callbacks):
    settings.REEVALUATION_RETRAIN_ON_WARNING = True
    _warned_active_version()
    app.control.purge()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = monitor_models_task()
    assert result["warnings"] == 1 and result["reevaluation_enqueued"] is True
    assert callbacks == [reevaluate_task.delay]
    assert _queued_task_names() == ["predictions.reevaluate"]  # on the real broker
    app.control.purge()


def test_without_the_setting_a_warning_waits_for_the_weekly_schedule(
    settings, django_capture_on_commit_callbacks
):
    settings.REEVALUATION_RETRAIN_ON_WARNING = False
    _warned_active_version()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = monitor_models_task()
    assert result["warnings"] == 1 and result["reevaluation_enqueued"] is False
    assert callbacks == []


def test_no_second_reevaluation_within_the_cooldown(settings, django_capture_on_commit_callbacks):
    settings.REEVALUATION_RETRAIN_ON_WARNING = True
    version = _warned_active_version()
    ModelComparison.objects.create(
        baseline=version, candidate=ModelVersionFactory(version="v1.1"), summary={},
        created_by="test",
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = monitor_models_task()
    assert result["reevaluation_enqueued"] is False and callbacks == []
