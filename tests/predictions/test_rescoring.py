from decimal import Decimal

import pytest
from django.urls import reverse

from patients.services import patient_features_update
from predictions.models import Prediction
from predictions.services import patient_score
from riskplatform.core.models import AuditEvent, AuditLog
from tests.factories import PatientFactory, PatientFeaturesFactory

pytestmark = pytest.mark.django_db


def test_editing_features_rescores_and_keeps_the_old_predictions(active_version):
    patient = PatientFeaturesFactory(patient=PatientFactory()).patient
    first = patient_score(patient_id=patient.pk, changed_by="test")
    patient_features_update(
        patient=patient,
        features={"total_admissions_2008": Decimal("5"), "has_chf": 2},
        changed_by="nurse",
    )
    second = patient_score(patient_id=patient.pk, changed_by="nurse")

    assert Prediction.objects.filter(patient=patient).count() == 6
    current = Prediction.objects.filter(patient=patient, superseded_at__isnull=True)
    assert set(current) == set(second)
    assert all(p.superseded_at is not None for p in Prediction.objects.filter(
        pk__in=[p.pk for p in first]))  # fmt: skip
    event = AuditLog.objects.filter(event_type=AuditEvent.PREDICTION_RUN).latest("log_id")
    assert event.old_values == {p.prediction_window: str(p.risk_score) for p in first}
    assert event.new_values == {p.prediction_window: str(p.risk_score) for p in second}
    change = AuditLog.objects.get(event_type=AuditEvent.FEATURES_UPDATED)
    assert change.old_values == {"total_admissions_2008": "1.00", "has_chf": 1}
    assert patient.features.history.latest().history_type == "~"


def test_adding_a_patient_in_the_admin_scores_them(admin_client, active_version):
    from tests.patients.test_admin import _inline_form

    page = admin_client.get(reverse("admin:patients_patient_add"))
    data = _inline_form(page)
    data.update(
        {
            "age": 70, "gender": "F", "race": "Black", "department": 1,
            "data_source": "NEW_PATIENT", "is_active": "on", "annual_cost": "40000",
            "cost_percentile": "0.8", "features-TOTAL_FORMS": 1, "features-INITIAL_FORMS": 0,
            "features-0-is_elderly": "on", **{f"features-0-{c}": 1 for c in (
                "has_alzheimers", "has_chf", "has_ckd", "has_cancer", "has_copd",
                "has_depression", "has_diabetes", "has_ischemic_heart", "has_ra_oa",
                "has_stroke")},
            "features-0-total_admissions_2008": 2, "features-0-total_hospital_days_2008": 9,
            "features-0-days_since_last_admission": 20, "features-0-recent_admission": 1,
            "features-0-total_outpatient_visits_2008": 12, "features-0-high_outpatient_user": 1,
            "features-0-total_annual_cost": 40000, "features-0-cost_percentile": "0.8",
            "features-0-high_cost": 0, "features-0-total_inpatient_cost": 30000,
            "features-0-frailty_score": "0.3", "features-0-complexity_index": "4",
        }
    )  # fmt: skip
    response = admin_client.post(reverse("admin:patients_patient_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    patient = Prediction.objects.get(prediction_window="30_day").patient
    assert patient.created_by == "admin:admin"
    assert Prediction.objects.filter(patient=patient).count() == 3
    assert AuditLog.objects.filter(event_type=AuditEvent.PATIENT_ADDED, entity_id=patient.pk)
