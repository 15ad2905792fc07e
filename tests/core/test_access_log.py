"""The PHI access log cannot be changed or deleted: PostgreSQL refuses, and the admin offers
no way to."""

import uuid

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse

from riskplatform.core.models import AccessAction, AccessEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    return AccessEvent.objects.create(
        username="cardio", action=AccessAction.PATIENT_VIEW, patient_uuids=[uuid.uuid4()],
        patient_count=1, ip_address="10.0.0.7",
    )  # fmt: skip


@pytest.mark.parametrize(
    "sql",
    ["UPDATE access_log SET username = 'someone else'", "DELETE FROM access_log"],
)
def test_postgresql_refuses_changes_and_deletes(event, sql):
    with (
        # The application's role holds no UPDATE or DELETE; the trigger stops the owner.
        pytest.raises(DatabaseError, match="permission denied for table access_log"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert AccessEvent.objects.get(pk=event.pk).username == "cardio"


def test_the_orm_cannot_change_or_delete_either(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessEvent.objects.filter(pk=event.pk).update(username="x")
    with pytest.raises(DatabaseError), transaction.atomic():
        event.delete()
    assert AccessEvent.objects.filter(pk=event.pk).exists()


def test_admins_can_list_and_find_events_by_patient_but_not_edit(admin_client, event):
    listing = admin_client.get(reverse("admin:core_accessevent_changelist"))
    assert listing.status_code == 200
    found = admin_client.get(
        reverse("admin:core_accessevent_changelist"), {"q": str(event.patient_uuids[0])}
    )
    assert list(found.context["cl"].result_list) == [event]
    missing = admin_client.get(
        reverse("admin:core_accessevent_changelist"), {"q": str(uuid.uuid4())}
    )
    assert list(missing.context["cl"].result_list) == []
    change = admin_client.post(
        reverse("admin:core_accessevent_change", args=[event.pk]), {"username": "x"}
    )
    assert change.status_code == 403
    delete = admin_client.post(
        reverse("admin:core_accessevent_delete", args=[event.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    assert AccessEvent.objects.get(pk=event.pk).username == "cardio"


def test_opening_a_patient_in_the_admin_is_logged(admin_client):
    from tests.factories import PatientFactory

    patient = PatientFactory()
    response = admin_client.get(
        reverse("admin:patients_patient_change", args=[str(patient.patient_uuid)])
    )
    assert response.status_code == 200
    event = AccessEvent.objects.get(action=AccessAction.ADMIN_VIEW)
    assert event.patient_uuids == [patient.patient_uuid]
    assert event.username == "admin"


def test_a_view_that_names_no_patient_still_writes_its_event(rf, django_user_model):
    """phi_logged writes one event per page answered, whether or not the view called
    phi_shown; a redirect or a refusal writes none."""
    from django.http import HttpResponse, HttpResponseRedirect

    from riskplatform.core.access import phi_logged, phi_shown

    @phi_logged(AccessAction.REPORT_VIEW)
    def some_report(request):
        return HttpResponse("ok")

    @phi_logged(AccessAction.PATIENT_VIEW)
    def saved(request):
        phi_shown(request, patient_uuids=[uuid.uuid4()])
        return HttpResponseRedirect("/elsewhere/")

    request = rf.get("/reports/some/?x=1")
    request.user = django_user_model.objects.create_user("u", password="x-long-pass-0042")
    some_report(request)
    saved(request)
    event = AccessEvent.objects.get()
    assert (event.report, event.patient_count, event.path) == (
        "some_report",
        0,
        "/reports/some/?x=1",
    )


def test_phi_shown_outside_a_logged_view_is_a_programming_error(rf):
    from django.core.exceptions import ImproperlyConfigured

    from riskplatform.core.access import phi_shown

    with pytest.raises(ImproperlyConfigured):
        phi_shown(rf.get("/"), patient_uuids=[uuid.uuid4()])
