import uuid
from decimal import Decimal

import psycopg
import pytest
from django.db import ProgrammingError, connection, transaction

from riskplatform.core.models import AuditEvent, AuditLog
from riskplatform.core.services import audit_event_record
from tests.db_roles import owner_connect

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    return audit_event_record(
        event_type=AuditEvent.PATIENT_ADDED,
        changed_by="test",
        entity_type="PATIENT",
        entity_id=1,
        new_values={"patient_uuid": uuid.UUID(int=1), "annual_cost": Decimal("10.50")},
    )


def test_events_are_stored_as_jsonb_with_a_database_timestamp(event):
    event.refresh_from_db()
    assert event.changed_at is not None
    assert event.new_values == {
        "patient_uuid": "00000000-0000-0000-0000-000000000001",
        "annual_cost": "10.50",
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_typeof(new_values)::text, new_values->>'annual_cost' FROM audit_log "
            "WHERE log_id = %s",
            [event.pk],
        )
        assert cursor.fetchone() == ("jsonb", "10.50")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET changed_by = 'intruder'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE false",
    ],
)
def test_postgresql_refuses_update_and_delete(event, statement):
    # The application's role holds no UPDATE or DELETE on the table...
    with (
        pytest.raises(ProgrammingError, match="permission denied for table audit_log"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    event.refresh_from_db()
    assert event.changed_by == "test"
    # ...and the trigger refuses the owner (and a superuser) too, even for no row.
    with (
        owner_connect() as owner,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="audit_log is append-only"),
    ):
        owner.execute(statement)


def test_orm_update_and_delete_are_refused_too(event):
    with pytest.raises(ProgrammingError, match="permission denied"), transaction.atomic():
        AuditLog.objects.filter(pk=event.pk).update(changed_by="x")
    with pytest.raises(ProgrammingError, match="permission denied"), transaction.atomic():
        event.delete()
    assert AuditLog.objects.filter(pk=event.pk, changed_by="test").exists()


def test_event_rolls_back_with_the_change_it_describes():
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_event_record(event_type=AuditEvent.MODEL_UPDATE, changed_by="test")
        raise RuntimeError("the service failed after writing its audit row")
    assert not AuditLog.objects.filter(event_type=AuditEvent.MODEL_UPDATE).exists()
