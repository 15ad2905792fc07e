"""Care coordinators in the Django admin (patients/admin_scope.py): the role x department
matrix over every admin change list, change page, history page and search that shows
patient records, the department filter's choices, and the two actions on selected patients
(export to CSV, record an intervention)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.admin import helpers
from django.urls import reverse
from django.utils import timezone

from finance.interventions import intervention_record
from finance.models import FinancialProjection, Intervention, RoiPositivePatient
from finance.services import views_refresh
from patients.models import Admission, Department, Patient
from predictions.models import ModelStatus, Prediction, PredictionOutcome
from riskplatform.core.models import AccessAction, AccessEvent
from riskplatform.core.roles import Role
from tests.factories import (
    FinancialProjectionFactory,
    ModelVersionFactory,
    PatientFactory,
    user_with_role,
)
from tests.outcome_factories import PredictionOutcomeFactory

pytestmark = pytest.mark.django_db

YESTERDAY = timezone.localdate() - dt.timedelta(days=1)

# model -> how its admin URL names a record
RECORD_KEY = {
    Patient: lambda p: str(p.patient_uuid),
    Admission: lambda a: a.pk,
    Prediction: lambda p: p.pk,
    PredictionOutcome: lambda o: o.pk,
    FinancialProjection: lambda f: f.pk,
    Intervention: lambda i: i.pk,
}
PATIENT_OF = {
    Patient: lambda p: p,
    Admission: lambda a: a.patient,
    Prediction: lambda p: p.patient,
    PredictionOutcome: lambda o: o.prediction.patient,
    FinancialProjection: lambda f: f.patient,
    Intervention: lambda i: i.patient,
}


def _url(model, page: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}", args=args)


@pytest.fixture
def hospital(db):
    """A Cardiology and an Oncology patient, each with one record of every kind."""
    records = {}
    version = ModelVersionFactory(status=ModelStatus.ACTIVE)
    for code in ("CARDIO", "ONCOLOGY"):
        patient = PatientFactory(department=Department.objects.get(department_code=code))
        projection = FinancialProjectionFactory(  # cheap enough to pay for itself
            prediction__patient=patient, prediction__model_version=version,
            intervention_cost=Decimal("1.00"),
        )  # fmt: skip
        records[code] = {
            Patient: patient,
            Admission: Admission.objects.create(
                patient=patient,
                admission_date=YESTERDAY,
                stay_cost=9000,
                source="IMPORTED",
                created_by="test",
            ),
            Prediction: projection.prediction,
            PredictionOutcome: PredictionOutcomeFactory(prediction=projection.prediction),
            FinancialProjection: projection,
            Intervention: intervention_record(
                patient=patient,
                prediction=None,
                intervention_type="CARE_MANAGER_CALL",
                status="DONE",
                intervention_date=YESTERDAY,
                cost_spent=None,
                notes="",
                recorded_by="test",
            ),
        }
    return records


@pytest.fixture
def users(hospital):
    from django.contrib.auth.models import User

    User.objects.create_user(
        username="nobody", password="a-long-test-passphrase-0042", is_staff=True
    )  # fmt: skip  (staff, but in no role)
    return {
        "admin": User.objects.create_superuser(username="root", password="x-passphrase-991"),
        "cardio": user_with_role("cora", Role.COORDINATOR, ("CARDIO",)),
        "nephro": user_with_role("nell", Role.COORDINATOR, ("NEPHRO",)),  # unrelated
        "analyst": user_with_role("ana", Role.ANALYST),
        "nobody": User.objects.get(username="nobody"),
    }


# Which departments' records each user meets in the admin; None: no admin at all.
SEES = {"admin": {"CARDIO", "ONCOLOGY"}, "cardio": {"CARDIO"}, "nephro": set(),
        "analyst": None, "nobody": set()}  # fmt: skip


@pytest.mark.parametrize("who", list(SEES))
@pytest.mark.parametrize("model", list(RECORD_KEY), ids=lambda m: m._meta.model_name)
def test_each_admin_page_shows_only_the_departments_the_user_may_see(
    client, hospital, users, who, model
):
    client.force_login(users[who])
    listed = client.get(_url(model, "changelist"))
    if SEES[who] is None:
        assert listed.status_code == 302 and "/admin/login/" in listed["Location"]
        return
    if who == "nobody":
        assert listed.status_code == 403  # staff without a role: no permission at all
        return
    if not SEES[who]:
        # A coordinator of another department: the page opens, empty.
        assert listed.status_code == 200
        assert list(listed.context["cl"].result_list) == []
    else:
        shown = {PATIENT_OF[model](r).department.department_code
                 for r in listed.context["cl"].result_list}  # fmt: skip
        assert shown == SEES[who]
    for code, records in hospital.items():
        record = records[model]
        key = RECORD_KEY[model](record)
        expected = 200 if code in SEES[who] else 404
        assert client.get(_url(model, "change", key)).status_code == expected, code
        assert client.get(_url(model, "history", key)).status_code == expected, code
        found = client.get(_url(model, "changelist"),
                           {"q": str(PATIENT_OF[model](record).patient_uuid)})  # fmt: skip
        assert len(found.context["cl"].result_list) == (1 if code in SEES[who] else 0)


def _departments_offered(client, user) -> set[str]:
    client.force_login(user)
    page = client.get(_url(Patient, "changelist"))
    cl = page.context["cl"]
    spec = next((s for s in cl.filter_specs if getattr(s, "field_path", "") == "department"),
                None)  # fmt: skip
    return set() if spec is None else {str(c["display"]) for c in spec.choices(cl)} - {"All"}


def test_the_department_filter_offers_only_the_coordinator_s_departments(client, users):
    PatientFactory(department=Department.objects.get(department_code="NEPHRO"))
    both = user_with_role("cody", Role.COORDINATOR, ("CARDIO", "ONCOLOGY"))
    assert _departments_offered(client, users["admin"]) == {"Cardiology", "Oncology", "Nephrology"}
    assert _departments_offered(client, both) == {"Cardiology", "Oncology"}
    assert _departments_offered(client, users["cardio"]) == set()  # one department: no filter


def test_the_report_view_of_roi_positive_patients_is_scoped_too(client, users):
    views_refresh(changed_by="test")
    assert RoiPositivePatient.objects.count() == 2
    client.force_login(users["cardio"])
    rows = client.get(_url(RoiPositivePatient, "changelist")).context["cl"].result_list
    assert {r.department_code for r in rows} == {"CARDIO"}


def test_a_coordinator_sees_in_the_admin_index_only_what_they_use(client, users):
    client.force_login(users["cardio"])
    index = client.get(reverse("admin:index"))
    models = {m["object_name"] for app in index.context["app_list"] for m in app["models"]}
    assert models == {"Department", "Patient", "Admission", "Prediction", "PredictionOutcome",
                      "FinancialProjection", "InterventionPolicy", "RoiPositivePatient",
                      "Intervention"}  # fmt: skip
    patient_admin = index.context["app_list"]
    assert not any(m["perms"].get("add") for app in patient_admin for m in app["models"]
                   if m["object_name"] == "Patient")  # fmt: skip


def _action(client, action: str, patients, **extra):
    return client.post(_url(Patient, "changelist"), {
        "action": action, "index": 0,
        helpers.ACTION_CHECKBOX_NAME: [str(p.patient_uuid) for p in patients], **extra,
    })  # fmt: skip


def test_export_selected_holds_only_visible_patients_formula_safe_and_logged(
    client, hospital, users
):
    cardio, oncology = hospital["CARDIO"][Patient], hospital["ONCOLOGY"][Patient]
    Patient.objects.filter(pk=cardio.pk).update(external_id="=HYPERLINK(1)")
    client.force_login(users["cardio"])
    response = _action(client, "export_selected_csv", [cardio, oncology])
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert str(cardio.patient_uuid) in text and str(oncology.patient_uuid) not in text
    assert "'=HYPERLINK(1)" in text  # neutralised, not a formula
    event = AccessEvent.objects.order_by("-pk").first()
    assert event.action == AccessAction.EXPORT and event.username == "cora"
    assert event.patient_uuids == [cardio.patient_uuid]
    assert event.report == "admin:patients.patient:export"


def test_record_intervention_on_selected_patients_through_the_service(client, hospital, users):
    cardio, oncology = hospital["CARDIO"][Patient], hospital["ONCOLOGY"][Patient]
    client.force_login(users["cardio"])
    asked = _action(client, "record_intervention", [cardio, oncology])
    assert asked.status_code == 200
    assert str(cardio.patient_uuid) in asked.content.decode()
    assert str(oncology.patient_uuid) not in asked.content.decode()
    before = Intervention.objects.count()
    form = {"window": "30_day", "intervention_type": "HOME_VISIT", "status": "DONE",
            "intervention_date": YESTERDAY.isoformat(), "cost_spent": "80.00", "notes": "",
            "apply": "1"}  # fmt: skip
    done = client.post(_url(Patient, "changelist"), {
        "action": "record_intervention",
        helpers.ACTION_CHECKBOX_NAME: [str(cardio.patient_uuid), str(oncology.patient_uuid)],
        **form,
    })  # fmt: skip
    assert done.status_code == 302
    assert Intervention.objects.count() == before + 1
    made = Intervention.objects.order_by("-pk").first()
    assert (made.patient, made.intervention_type, made.cost_spent) == (
        cardio, "HOME_VISIT", Decimal("80.00"))  # fmt: skip
    assert made.recorded_by == "admin:cora"
    assert made.prediction == hospital["CARDIO"][Prediction]  # its current 30-day prediction


def test_a_refused_intervention_records_nothing_and_says_why(client, hospital, users):
    cardio = hospital["CARDIO"][Patient]
    client.force_login(users["cardio"])
    before = Intervention.objects.count()
    future = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    page = client.post(_url(Patient, "changelist"), {
        "action": "record_intervention", helpers.ACTION_CHECKBOX_NAME: [str(cardio.patient_uuid)],
        "window": "30_day", "intervention_type": "HOME_VISIT", "status": "DONE",
        "intervention_date": future, "apply": "1",
    })  # fmt: skip
    assert page.status_code == 200 and page.context["form"].errors
    assert Intervention.objects.count() == before


def test_an_analyst_cannot_run_admin_actions(client, hospital, users):
    client.force_login(users["analyst"])
    response = _action(client, "export_selected_csv", [hospital["CARDIO"][Patient]])
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
