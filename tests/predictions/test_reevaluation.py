import pytest
from django.urls import reverse

from predictions.matviews import OrgTierSummary
from predictions.models import ModelComparison, ModelVersion
from predictions.reevaluation import (
    PromotionRefused,
    model_reevaluate,
    model_version_next_label,
    model_version_promote,
)
from predictions.services import model_version_register
from riskplatform.core.models import AuditEvent, AuditLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def candidate(active_version, toy_models, patients_with_features):
    from predictions.scoring_runs import population_score, scoring_run_create

    population_score(run_id=scoring_run_create(version="v1.0", changed_by="test").pk)
    model_version_register(
        version="v1.1", models=toy_models.models, encoding=toy_models.encoding, changed_by="test"
    )
    return "v1.1"


def test_next_label(active_version):
    assert model_version_next_label("v1.0") == "v1.1"
    assert model_version_next_label("custom") == "v1.1"


def test_reevaluation_scores_the_candidate_without_touching_the_views(candidate):
    before = list(OrgTierSummary.objects.values_list("model_version", "patient_count"))
    comparison = model_reevaluate(changed_by="celery:reevaluate", candidate=candidate)
    assert (comparison.baseline_id, comparison.candidate_id) == ("v1.0", "v1.1")
    # Same models under both labels: every patient keeps their tier.
    w30 = comparison.summary["windows"]["30_day"]
    assert (w30["patients"], w30["kept"], w30["raised"], w30["lowered"]) == (25, 25, 0, 0)
    event = AuditLog.objects.get(event_type=AuditEvent.MODEL_UPDATE)
    assert event.new_values["windows"]["30_day"]["kept"] == 25
    assert list(OrgTierSummary.objects.values_list("model_version", "patient_count")) == before
    assert ModelVersion.objects.get(version="v1.1").status == "candidate"


def test_promotion_switches_the_views_and_refuses_retired_or_partial(candidate):
    with pytest.raises(PromotionRefused, match="not fully scored: 25 active patient"):
        model_version_promote(version="v1.1", changed_by="test")
    model_reevaluate(changed_by="test", candidate=candidate)
    model_version_promote(version="v1.1", changed_by="admin:boss")
    statuses = dict(ModelVersion.objects.values_list("version", "status"))
    assert statuses == {"v1.0": "retired", "v1.1": "active"}
    assert set(OrgTierSummary.objects.values_list("model_version", flat=True)) == {"v1.1"}
    with pytest.raises(PromotionRefused, match="retired"):
        model_version_promote(version="v1.0", changed_by="test")
    assert ModelComparison.objects.count() == 1


def _messages(response) -> str:
    return " | ".join(str(m) for m in response.context["messages"])


def test_admin_action_promotes_and_reports_refusals(admin_client, candidate):
    url = reverse("admin:predictions_modelversion_changelist")
    v11 = ModelVersion.objects.get(version="v1.1")
    response = admin_client.post(
        url, {"action": "make_active", "_selected_action": [v11.pk]}, follow=True
    )
    assert "not fully scored" in _messages(response)
    model_reevaluate(changed_by="test", candidate=candidate)
    response = admin_client.post(
        url, {"action": "make_active", "_selected_action": [v11.pk]}, follow=True
    )
    assert "v1.1 is now active; the views were refreshed." in _messages(response)
    assert ModelVersion.objects.get(version="v1.1").status == "active"


def test_rollback_reinstates_the_previous_artifact_under_a_new_label(candidate):
    from django.core.management import call_command

    model_reevaluate(changed_by="test", candidate=candidate)
    model_version_promote(version="v1.1", changed_by="test")
    call_command("rollback_model", "--version", "v1.0")
    statuses = dict(ModelVersion.objects.values_list("version", "status"))
    assert statuses == {"v1.0": "retired", "v1.1": "retired", "v1.2": "active"}
    v10, v12 = ModelVersion.objects.get(version="v1.0"), ModelVersion.objects.get(version="v1.2")
    assert v12.artifact_sha256 == v10.artifact_sha256
    assert set(OrgTierSummary.objects.values_list("model_version", flat=True)) == {"v1.2"}


@pytest.mark.parametrize(
    ("auc_change", "slope", "status"),
    [(0.0, 1.0, "active"), (0.01, 1.1, "active"), (-0.01, 1.0, "candidate"),
     (0.0, 1.3, "candidate")],
)  # fmt: skip
def test_auto_promotion_only_when_the_candidate_is_no_worse(
    candidate, settings, auc_change, slope, status
):
    settings.MODEL_AUTO_PROMOTE = True
    baseline = ModelVersion.objects.get(version="v1.0").metrics
    windows = {
        w: {**m, "auc": m["auc"] + (auc_change if w == "60_day" else 0), "calibration_slope": slope}
        for w, m in baseline["windows"].items()
    }
    ModelVersion.objects.filter(version="v1.1").update(metrics={"windows": windows})
    model_reevaluate(changed_by="celery:reevaluate", candidate=candidate)
    assert ModelVersion.objects.get(version="v1.1").status == status
