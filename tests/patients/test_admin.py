import pytest
from django.urls import reverse

from patients.models import Patient
from tests.factories import PatientFactory, PatientFeaturesFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:patients_patient_changelist")


@pytest.fixture
def patient_with_features(department):
    return PatientFeaturesFactory(patient=PatientFactory(department=department)).patient


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
    url = reverse("admin:patients_patient_change", args=[patient_with_features.pk])
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
        reverse("admin:patients_patient_history", args=[patient_with_features.pk])
    )
    assert history_page.status_code == 200


def test_patients_cannot_be_deleted_from_the_admin(admin_client, patient_with_features):
    url = reverse("admin:patients_patient_delete", args=[patient_with_features.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert Patient.objects.filter(pk=patient_with_features.pk).exists()
