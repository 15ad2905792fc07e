"""Every entity has an admin screen; records written by services are read-only there."""

import pytest
from django.contrib import admin
from django.urls import reverse

from finance.models import FinancialProjection, Intervention, RoiPositivePatient
from finance.services import views_refresh
from patients.models import Admission
from predictions.comparison import model_versions_compare
from predictions.models import (
    DeptRiskDistribution,
    ModelComparison,
    ModelMonitoringRun,
    ModelVersion,
    OrgTierSummary,
    Prediction,
    PredictionOutcome,
    ScoringRun,
    TrainingSnapshot,
)
from riskplatform.core.api_auth import api_client_create
from riskplatform.core.models import AccessEvent, AuditLog
from tests.factories import TrainingSnapshotFactory

pytestmark = pytest.mark.django_db

PLATFORM_APPS = {"core", "patients", "predictions", "finance"}
READ_ONLY = {
    AccessEvent,
    Admission,
    PredictionOutcome,
    ModelMonitoringRun,
    AuditLog,
    Prediction,
    FinancialProjection,
    OrgTierSummary,
    DeptRiskDistribution,
    ModelComparison,
    RoiPositivePatient,
    ScoringRun,
    TrainingSnapshot,
}


def _platform_models():
    return [m for m in admin.site._registry if m._meta.app_label in PLATFORM_APPS]


def _changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def test_every_platform_table_and_view_is_registered():
    tables = {m._meta.db_table for m in _platform_models()}
    assert tables == {
        "api_clients",
        "departments",
        "patients",
        "model_comparisons",
        "model_versions",
        "predictions",
        "financial_projections",
        "intervention_policies",
        "audit_log",
        "access_log",
        "org_tier_summary",
        "dept_risk_distribution",
        "roi_positive_patients",
        "roi_tier_summary",
        "scoring_runs",
        "admissions",
        "interventions",
        "prediction_outcomes",
        "model_monitoring_runs",
        "training_snapshots",
    }


@pytest.mark.parametrize("model", _platform_models(), ids=lambda m: m._meta.db_table)
def test_changelists_render_with_data(admin_client, scored_population, model):
    views_refresh(changed_by="test")
    ScoringRun.objects.create(
        model_version_id="v1.0", created_by="test", patients_total=10, patients_scored=4
    )
    api_client_create(name="ehr")
    AccessEvent.objects.create(username="cardio", action="REPORT_VIEW", report="organisation")
    ModelComparison.objects.create(
        baseline_id="v1.0", candidate_id="v1.1", created_by="test",
        summary=model_versions_compare(baseline="v1.0", candidate="v1.1"),
    )  # fmt: skip
    _closing_the_loop_rows()
    response = admin_client.get(_changelist(model))
    assert response.status_code == 200
    assert response.context["cl"].result_count > 0


def _closing_the_loop_rows() -> None:
    from datetime import date

    prediction = Prediction.objects.filter(model_version="v1.0").first()
    Admission.objects.create(patient=prediction.patient, admission_date=date(2026, 1, 5),
                             stay_cost=9000, source="IMPORTED", created_by="test")  # fmt: skip
    Intervention.objects.create(
        patient=prediction.patient, prediction=prediction, intervention_type="HOME_VISIT",
        status="DONE", intervention_date=date(2026, 1, 2), recorded_by="test",
    )  # fmt: skip
    PredictionOutcome.objects.create(
        prediction=prediction, window_start=date(2026, 1, 1), window_end=date(2026, 1, 30),
        admitted=True, first_admission_date=date(2026, 1, 5), rule_version="window-v1",
    )  # fmt: skip
    ModelMonitoringRun.objects.create(model_version_id="v1.0", status="succeeded",
                                      warnings=[{"kind": "auc", "message": "x"}],
                                      created_by="test")  # fmt: skip
    TrainingSnapshotFactory()


@pytest.mark.parametrize("model", sorted(READ_ONLY, key=str), ids=lambda m: m._meta.db_table)
def test_service_written_records_are_read_only(rf, admin_user, model):
    request = rf.get("/")
    request.user = admin_user
    model_admin = admin.site._registry[model]
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


@pytest.mark.parametrize(
    ("model", "filters"),
    [
        (Prediction, {"prediction_window", "risk_tier", "model_version", "patient__department"}),
        (FinancialProjection, {"projection_window", "risk_tier", "roi_category"}),
        (RoiPositivePatient, {"projection_window", "roi_grade", "department_name"}),
    ],
)
def test_filters_named_by_the_design_exist(model, filters):
    named = {f if isinstance(f, str) else f[0] for f in admin.site._registry[model].list_filter}
    assert filters <= named


@pytest.mark.parametrize("model", [Prediction, FinancialProjection], ids=["pred", "proj"])
def test_large_changelists_do_not_query_per_row(
    admin_client, scored_population, django_assert_max_num_queries, model
):
    assert model.objects.count() >= 25
    with django_assert_max_num_queries(12):
        assert admin_client.get(_changelist(model)).status_code == 200


def test_model_version_admin_never_loads_or_edits_the_artifact(admin_client, model_version):
    url = reverse("admin:predictions_modelversion_change", args=[model_version.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert "artifact" not in response.context["adminform"].form.fields
    assert (
        model_version.artifact_sha256[:12].encode()
        in admin_client.get(_changelist(ModelVersion)).content
    )


def test_every_admin_page_carries_the_phi_notice(client, admin_client):
    notice = "Contains protected health information. Authorised use only."
    assert notice in client.get(reverse("admin:login")).content.decode()
    assert notice in admin_client.get(reverse("admin:index")).content.decode()
