"""Recording interventions: the service's checks, audit and history; the pages' role matrix,
access log, prefilled prediction, form errors, and no internal patient id in any page."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from finance.interventions import intervention_record, intervention_update
from finance.models import Intervention
from patients.models import Department
from riskplatform.core.models import AccessAction, AccessEvent, AuditEvent, AuditLog
from riskplatform.core.roles import Role
from riskplatform.core.windows import DAYS_IN_WINDOW
from tests.factories import FinancialProjectionFactory, PatientFactory, user_with_role

pytestmark = pytest.mark.django_db

YESTERDAY = timezone.localdate() - dt.timedelta(days=1)


@pytest.fixture
def cardio_patient(db):
    return PatientFactory(department=Department.objects.get(department_code="CARDIO"))


@pytest.fixture
def nephro_patient(db):
    return PatientFactory(department=Department.objects.get(department_code="NEPHRO"))


@pytest.fixture
def current_30(model_version, cardio_patient):
    """The CARDIO patient's current 30-day prediction under the active version."""
    return FinancialProjectionFactory(
        prediction__patient=cardio_patient, prediction__model_version=model_version
    ).prediction


def _record(patient, **changes) -> Intervention:
    values = {
        "patient": patient,
        "prediction": None,
        "intervention_type": "CARE_MANAGER_CALL",
        "status": "DONE",
        "intervention_date": YESTERDAY,
        "cost_spent": Decimal("120.00"),
        "notes": "Called; medication explained.",
        "recorded_by": "nurse",
    }
    return intervention_record(**(values | changes))


def _form(**changes) -> dict:
    return {
        "intervention_type": "HOME_VISIT",
        "status": "DONE",
        "intervention_date": YESTERDAY.isoformat(),
        "cost_spent": "180.50",
        "notes": "Visited at home.",
    } | changes


# The services


def test_recording_writes_the_row_its_history_and_an_audit_row_without_internal_ids(
    cardio_patient, current_30
):
    intervention = _record(cardio_patient, prediction=current_30)
    assert intervention.updated_at is not None and intervention.intervention_uuid
    assert intervention.history.count() == 1
    assert intervention.history.get().history_change_reason == "recorded by nurse"
    audit = AuditLog.objects.get(event_type=AuditEvent.INTERVENTION_RECORDED)
    assert (audit.changed_by, audit.entity_type, audit.entity_id) == (
        "nurse",
        "INTERVENTION",
        intervention.pk,
    )
    assert audit.new_values["patient_uuid"] == str(cardio_patient.patient_uuid)
    assert audit.new_values["intervention_uuid"] == str(intervention.intervention_uuid)
    assert audit.new_values["status"] == "DONE" and audit.new_values["cost_spent"] == "120.00"
    assert audit.new_values["notes"] == "(set)"  # free text stays out of the audit log
    assert "patient_id" not in audit.new_values and "prediction_id" not in audit.new_values
    assert cardio_patient.pk not in audit.new_values.values()
    assert (audit.model_version, audit.prediction_window) == ("v1.0", "30_day")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"intervention_date": timezone.localdate() + dt.timedelta(days=1)}, "intervention_date"),
        ({"status": "DECLINED", "intervention_date": timezone.localdate() + dt.timedelta(days=3)},
         "intervention_date"),
        ({"cost_spent": Decimal("-1.00")}, "cost_spent"),
        ({"status": "FORGOTTEN"}, "status"),
        ({"intervention_type": "PRAYER"}, "intervention_type"),
    ],
)  # fmt: skip
def test_impossible_entries_are_refused(cardio_patient, changes, field):
    with pytest.raises(ValidationError) as refused:
        _record(cardio_patient, **changes)
    assert field in refused.value.error_dict
    assert not Intervention.objects.exists() and not AuditLog.objects.exists()


def test_a_plan_may_lie_ahead(cardio_patient):
    plan = _record(
        cardio_patient, status="PLANNED", intervention_date=timezone.localdate() + dt.timedelta(7)
    )
    assert plan.status == "PLANNED"


def test_the_prediction_must_be_the_patients(cardio_patient, nephro_patient, model_version):
    other = FinancialProjectionFactory(
        prediction__patient=nephro_patient, prediction__model_version=model_version
    ).prediction
    with pytest.raises(ValidationError) as refused:
        _record(cardio_patient, prediction=other)
    assert "prediction" in refused.value.error_dict


def test_an_update_keeps_history_and_audits_old_and_new_values(cardio_patient):
    intervention = _record(cardio_patient, status="PLANNED", cost_spent=None)
    updated = intervention_update(
        intervention=intervention,
        intervention_type="CARE_MANAGER_CALL",
        status="DONE",
        intervention_date=YESTERDAY,
        cost_spent=Decimal("95.00"),
        notes=intervention.notes,
        recorded_by="coordinator2",
    )
    assert (updated.status, updated.cost_spent, updated.recorded_by) == (
        "DONE",
        Decimal("95.00"),
        "nurse",  # who recorded it; the editor is in the history and the audit row
    )
    history = list(updated.history.order_by("history_date", "history_id"))
    assert [(h.history_type, h.status) for h in history] == [("+", "PLANNED"), ("~", "DONE")]
    assert history[1].history_change_reason == "updated by coordinator2"
    audit = AuditLog.objects.filter(event_type=AuditEvent.INTERVENTION_RECORDED).first()
    assert audit.changed_by == "coordinator2"
    assert audit.old_values == {"status": "PLANNED", "cost_spent": None}
    assert audit.new_values["action"] == "updated"
    assert audit.new_values["patient_uuid"] == str(cardio_patient.patient_uuid)
    # Nothing changed: nothing written.
    again = intervention_update(
        intervention=updated,
        intervention_type="CARE_MANAGER_CALL",
        status="DONE",
        intervention_date=YESTERDAY,
        cost_spent=Decimal("95"),
        notes=updated.notes,
        recorded_by="coordinator2",
    )
    assert again.history.count() == 2
    assert AuditLog.objects.filter(event_type=AuditEvent.INTERVENTION_RECORDED).count() == 2


# The pages


def _no_internal_ids(html: str, *patients) -> None:
    for patient in patients:
        assert f"/{patient.pk}/" not in html
        assert f"patient_id={patient.pk}" not in html


def test_coordinator_records_for_their_department_prefilled_from_the_worklist_window(
    client, cardio_patient, current_30
):
    client.force_login(user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)))
    url = reverse("intervention-new", args=[cardio_patient.patient_uuid])
    page = client.get(url, {"window": "30_day"})
    assert page.status_code == 200
    assert page.context["prediction"] == current_30
    html = page.content.decode()
    assert 'name="window" value="30_day"' in html and "csrfmiddlewaretoken" in html
    assert str(cardio_patient.patient_uuid) in html
    _no_internal_ids(html, cardio_patient)
    event = AccessEvent.objects.get(action=AccessAction.PATIENT_VIEW)
    assert (event.report, event.patient_uuids) == (
        "intervention-new",
        [cardio_patient.patient_uuid],
    )

    response = client.post(url, _form(window="30_day"))
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("patient", args=[cardio_patient.patient_uuid]) + "#interventions"
    )
    recorded = Intervention.objects.get()
    assert (recorded.patient, recorded.prediction, recorded.recorded_by) == (
        cardio_patient,
        current_30,
        "cardio",
    )
    assert recorded.cost_spent == Decimal("180.50")
    assert recorded.history.get().history_user.username == "cardio"


def test_form_errors_are_shown_and_nothing_is_recorded(client, cardio_patient):
    client.force_login(user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)))
    url = reverse("intervention-new", args=[cardio_patient.patient_uuid])
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = client.post(url, _form(intervention_date=tomorrow, cost_spent="-5"))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "intervention_date" in errors and "cost_spent" in errors
    assert "Only a planned intervention can be dated in the future." in response.content.decode()
    assert not Intervention.objects.exists()


def test_role_matrix(client, cardio_patient, nephro_patient):
    new_cardio = reverse("intervention-new", args=[cardio_patient.patient_uuid])
    new_nephro = reverse("intervention-new", args=[nephro_patient.patient_uuid])
    intervention = _record(nephro_patient)
    edit_nephro = reverse("intervention-edit", args=[intervention.intervention_uuid])

    client.force_login(user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)))
    assert client.get(new_cardio).status_code == 200
    assert client.get(new_nephro).status_code == 404
    assert client.post(new_nephro, _form()).status_code == 404
    assert client.get(edit_nephro).status_code == 404
    assert client.post(edit_nephro, _form()).status_code == 404

    client.force_login(user_with_role("ana", Role.ANALYST))
    for url in (new_cardio, new_nephro, edit_nephro):
        assert client.get(url).status_code == 403
    assert client.post(new_cardio, _form()).status_code == 403

    client.force_login(user_with_role("admin", Role.PLATFORM_ADMIN))
    assert client.get(new_nephro).status_code == 200
    assert client.post(new_nephro, _form()).status_code == 302
    assert client.get(edit_nephro).status_code == 200

    client.logout()
    response = client.get(new_cardio)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Intervention.objects.count() == 2  # the one recorded above and the admin's


def test_editing_redirects_keeps_history_and_is_logged(client, nephro_patient):
    intervention = _record(nephro_patient, status="PLANNED", cost_spent=None)
    client.force_login(user_with_role("nephro", Role.COORDINATOR, ("NEPHRO",)))
    url = reverse("intervention-edit", args=[intervention.intervention_uuid])
    page = client.get(url)
    assert page.status_code == 200
    _no_internal_ids(page.content.decode(), nephro_patient)
    assert AccessEvent.objects.get().report == "intervention-edit"
    response = client.post(url, _form(intervention_type="CARE_MANAGER_CALL", cost_spent="75"))
    assert response.status_code == 302
    intervention.refresh_from_db()
    assert (intervention.status, intervention.cost_spent) == ("DONE", Decimal("75.00"))
    assert intervention.history.count() == 2
    page = client.get(url)
    assert "updated by nephro" in page.content.decode()


def test_patient_page_lists_interventions_and_links_recording_for_coordinators_only(
    client, cardio_patient
):
    from tests.factories import PatientFeaturesFactory

    PatientFeaturesFactory(patient=cardio_patient)
    intervention = _record(cardio_patient, notes="Spoke with daughter.")
    page_url = reverse("patient", args=[cardio_patient.patient_uuid])

    client.force_login(user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)))
    html = client.get(page_url).content.decode()
    assert reverse("intervention-new", args=[cardio_patient.patient_uuid]) in html
    assert reverse("intervention-edit", args=[intervention.intervention_uuid]) in html
    assert "Care-manager call" in html and "Spoke with daughter." in html and "nurse" in html
    _no_internal_ids(html, cardio_patient)

    client.force_login(user_with_role("ana", Role.ANALYST))
    html = client.get(page_url).content.decode()
    assert "Care-manager call" in html
    assert "intervention-new" not in html and "/interventions/new/" not in html
    assert "Spoke with daughter." not in html  # free-text notes are not de-identified


def test_admin_shows_interventions_by_uuids_and_changes_them_through_the_service(
    admin_client, admin_user, cardio_patient
):
    intervention = _record(cardio_patient)
    changelist = admin_client.get(reverse("admin:finance_intervention_changelist"))
    assert changelist.status_code == 200
    html = changelist.content.decode()
    assert str(intervention.intervention_uuid) in html and str(cardio_patient.patient_uuid) in html
    found = admin_client.get(
        reverse("admin:finance_intervention_changelist"), {"q": str(cardio_patient.patient_uuid)}
    )
    assert list(found.context["cl"].result_list) == [intervention]
    page = admin_client.get(reverse("admin:finance_intervention_change", args=[intervention.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("patient", args=[cardio_patient.patient_uuid]) in html
    _no_internal_ids(html, cardio_patient)
    assert page.context["has_change_permission"]
    assert not page.context["has_add_permission"] and not page.context["has_delete_permission"]
    audited = AuditLog.objects.count()
    saved = admin_client.post(
        reverse("admin:finance_intervention_change", args=[intervention.pk]),
        _form(intervention_type="CARE_MANAGER_CALL", cost_spent="95.00"),
    )
    assert saved.status_code == 302, saved.content.decode()[-2000:]
    intervention.refresh_from_db()
    assert intervention.cost_spent == Decimal("95.00") and intervention.notes == "Visited at home."
    assert intervention.recorded_by == "nurse"  # the original recorder is kept
    change = AuditLog.objects.order_by("-pk").first()
    assert AuditLog.objects.count() == audited + 1
    assert change.changed_by == f"admin:{admin_user.username}"
    history = admin_client.get(
        reverse("admin:finance_intervention_history", args=[intervention.pk])
    )
    assert history.status_code == 200


def test_worklist_rows_link_recording_with_their_window(
    client, active_version, patients_with_features
):
    from predictions.models import ModelVersion
    from predictions.scoring_runs import population_score, scoring_run_create

    # The toy model's scores are modest: low cut-offs flag some patients (as in
    # tests/predictions/test_workspace_pages.py).
    thresholds = {"mode": "fixed", **{w: [0.05, 0.1, 0.15, 0.2] for w in DAYS_IN_WINDOW}}
    ModelVersion.objects.filter(version="v1.0").update(tier_thresholds=thresholds)
    population_score(run_id=scoring_run_create(version="v1.0", changed_by="test").pk)
    worklist = reverse("worklist", args=["CARDIO", "90_day"])
    client.force_login(user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)))
    response = client.get(worklist)
    rows = response.context["rows"]
    assert rows, "the toy population should flag some CARDIO patients at 90 days"
    html = response.content.decode()
    for row in rows:
        link = reverse("intervention-new", args=[row.patient_uuid]) + "?window=90_day"
        assert link in html
    _no_internal_ids(html, *patients_with_features)
    page = client.get(link)
    assert page.context["prediction"].prediction_window == "90_day"
    assert page.context["prediction"].patient.patient_uuid == rows[-1].patient_uuid

    client.force_login(user_with_role("ana", Role.ANALYST))
    assert "/interventions/new/" not in client.get(worklist).content.decode()
