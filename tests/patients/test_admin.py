import re

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from finance.models import FinancialProjection
from patients.models import Patient
from riskplatform.core.models import AuditLog
from tests.factories import FinancialProjectionFactory, PatientFactory, PatientFeaturesFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:patients_patient_changelist")


# A primary key no other number on the pages resembles, so "not in the page" means something.
INTERNAL_ID = 987654321


@pytest.fixture
def patient_with_features(department):
    patient = PatientFactory(department=department, patient_id=INTERNAL_ID)
    return PatientFeaturesFactory(patient=patient).patient


def _change_url(patient: Patient) -> str:
    return reverse("admin:patients_patient_change", args=[str(patient.patient_uuid)])


def _assert_no_internal_id(response) -> None:
    text = response.content.decode() if hasattr(response, "content") else response
    assert str(INTERNAL_ID) not in text
    assert str(INTERNAL_ID) not in response.get("Location", "")


def _inline_form(response) -> dict:
    """The change form's current values, as the browser would post them back."""
    data = {}
    for form in (
        [response.context["adminform"].form]
        + [f for formset in response.context["inline_admin_formsets"] for f in formset.formset]
        + [fs.formset.management_form for fs in response.context["inline_admin_formsets"]]
    ):
        for name, field in form.fields.items():
            value = form.initial.get(name, field.initial)
            if value is None:
                continue
            data[form.add_prefix(name)] = value.pk if hasattr(value, "pk") else value
    return {k: v for k, v in data.items() if v is not False}


def test_search_by_uuid_and_external_id(admin_client, patient_with_features):
    other = PatientFactory()
    for term in (str(patient_with_features.patient_uuid), patient_with_features.external_id):
        result = admin_client.get(CHANGELIST, {"q": term}).context["cl"].result_list
        assert list(result) == [patient_with_features]
    assert other not in admin_client.get(CHANGELIST, {"q": "no-such-id"}).context["cl"].result_list


def test_changelist_shows_uuid_not_internal_id(admin_client, patient_with_features):
    content = admin_client.get(CHANGELIST).content.decode()
    assert str(patient_with_features.patient_uuid) in content


def test_features_edit_inline_and_history_records_who(
    admin_client, admin_user, patient_with_features
):
    url = _change_url(patient_with_features)
    page = admin_client.get(url)
    assert page.status_code == 200
    data = _inline_form(page)
    data["features-0-has_chf"] = 2
    data["features-0-is_elderly"] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context and [
        f.errors for f in [response.context["adminform"].form]
    ]
    features = Patient.objects.get(pk=patient_with_features.pk).features
    assert features.has_chf == 2
    latest = features.history.latest()
    assert (latest.history_type, latest.history_user) == ("~", admin_user)
    assert latest.prev_record.has_chf == 1
    history_page = admin_client.get(
        reverse("admin:patients_patient_history", args=[str(patient_with_features.patient_uuid)])
    )
    assert history_page.status_code == 200
    _assert_no_internal_id(history_page)


def test_patients_cannot_be_deleted_from_the_admin(admin_client, patient_with_features):
    url = reverse("admin:patients_patient_delete", args=[str(patient_with_features.patient_uuid)])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert Patient.objects.filter(pk=patient_with_features.pk).exists()


def test_no_admin_page_or_link_carries_the_internal_patient_id(admin_client, patient_with_features):
    """Change list, change form (with its features inline), history, admin log links, the
    records that point at the patient, and the audit log all name the patient by uuid."""
    url = _change_url(patient_with_features)
    changelist = admin_client.get(CHANGELIST)
    _assert_no_internal_id(changelist)
    assert url in changelist.content.decode()
    form_page = admin_client.get(url)
    assert form_page.status_code == 200
    _assert_no_internal_id(form_page)

    data = _inline_form(form_page)
    data.pop("features-0-patient")  # not rendered: the browser has no such field to send
    data["age"] = 73
    data["_continue"] = "Save and continue editing"
    saved = admin_client.post(url, data)
    assert saved.status_code == 302 and saved["Location"] == url
    assert Patient.objects.get(pk=INTERNAL_ID).age == 73
    entry = LogEntry.objects.get(object_repr=str(patient_with_features.patient_uuid))
    assert entry.object_id == str(patient_with_features.patient_uuid)
    for page in (admin_client.get(url), admin_client.get(reverse("admin:index"))):
        _assert_no_internal_id(page)
    assert re.search(re.escape(url), admin_client.get(reverse("admin:index")).content.decode())

    projection = FinancialProjectionFactory(
        prediction__patient=patient_with_features, patient=patient_with_features
    )
    for name, pk in (("predictions_prediction", projection.prediction.pk),
                     ("finance_financialprojection", projection.pk)):  # fmt: skip
        page = admin_client.get(reverse(f"admin:{name}_change", args=[pk]))
        assert page.status_code == 200
        _assert_no_internal_id(page)
        assert str(patient_with_features.patient_uuid) in page.content.decode()
    assert FinancialProjection.objects.filter(patient=patient_with_features).exists()

    event = AuditLog.objects.get(event_type="PATIENT_UPDATED", entity_id=INTERNAL_ID)
    assert (event.old_values, event.new_values) == ({"age": "72"}, {"age": "73"})
    audit_list = admin_client.get(reverse("admin:core_auditlog_changelist"))
    _assert_no_internal_id(audit_list)
    assert str(patient_with_features.patient_uuid) in audit_list.content.decode()
    audit_page = admin_client.get(reverse("admin:core_auditlog_change", args=[event.pk]))
    _assert_no_internal_id(audit_page)


def test_adding_a_patient_redirects_by_uuid(admin_client, department):
    page = admin_client.get(reverse("admin:patients_patient_add"))
    assert page.status_code == 200
    data = {
        "age": 70, "gender": "F", "race": "White", "department": department.pk,
        "data_source": "NEW_PATIENT", "is_active": "on",
        "features-TOTAL_FORMS": 0, "features-INITIAL_FORMS": 0,
        "features-MIN_NUM_FORMS": 0, "features-MAX_NUM_FORMS": 1,
        "_continue": "Save and continue editing",
    }  # fmt: skip
    response = admin_client.post(reverse("admin:patients_patient_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    patient = Patient.objects.get()
    assert response["Location"] == _change_url(patient)
    assert admin_client.get(response["Location"]).status_code == 200


def test_pop_up_picking_is_refused(admin_client, patient_with_features):
    assert admin_client.get(CHANGELIST, {"_popup": "1"}).status_code == 400
