"""Advisory locks: a periodic task runs in one process at a time, and a dead holder's lock
is gone with its session."""

import psycopg
import pytest
from django.db import connection

from riskplatform.core.locks import _key, advisory_lock, advisory_lock_held, one_at_a_time


def _other_session() -> psycopg.Connection:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


@pytest.mark.django_db(transaction=True)
def test_a_task_held_elsewhere_is_skipped_and_runs_once_released():
    calls = []

    @one_at_a_time("test.sweep")
    def sweep():
        calls.append(1)
        return {"ran": True}

    other = _other_session()
    other.execute("SELECT pg_advisory_lock(%s)", [_key("test.sweep")])
    assert advisory_lock_held("test.sweep")
    assert sweep() == {"skipped": "test.sweep is already running"}
    assert calls == []

    other.close()  # the holder's session ends (a killed process): PostgreSQL frees the lock
    assert sweep() == {"ran": True}
    assert calls == [1]
    assert not advisory_lock_held("test.sweep")  # released after the run


@pytest.mark.django_db(transaction=True)
def test_the_lock_is_released_when_the_work_raises():
    with pytest.raises(RuntimeError), advisory_lock("test.fails") as taken:
        assert taken and advisory_lock_held("test.fails")
        raise RuntimeError("boom")
    assert not advisory_lock_held("test.fails")


@pytest.mark.django_db(transaction=True)
def test_the_transaction_lock_waits_for_its_holder_and_ends_with_the_transaction():
    from django.db import transaction

    from riskplatform.core.locks import advisory_xact_lock

    with pytest.raises(RuntimeError, match="needs a transaction"):
        advisory_xact_lock("test.import")
    other = _other_session()
    other.execute("SET lock_timeout = '200ms'")
    with transaction.atomic():
        advisory_xact_lock("test.import")
        assert advisory_lock_held("test.import")
        with pytest.raises(psycopg.errors.LockNotAvailable):  # a second taker waits
            other.execute("SELECT pg_advisory_xact_lock(%s)", [_key("test.import")])
    assert not advisory_lock_held("test.import")  # released at commit
    other.execute("SELECT pg_advisory_lock(%s)", [_key("test.import")])
    other.close()


@pytest.mark.django_db(transaction=True)
def test_a_wait_ended_by_the_statement_timeout_says_so():
    from django.db import transaction

    from riskplatform.core.locks import LockWaitTimeout, advisory_xact_lock

    other = _other_session()
    other.execute("SELECT pg_advisory_lock(%s)", [_key("test.import")])
    try:
        with (
            pytest.raises(LockWaitTimeout, match="another session holds it"),
            transaction.atomic(),
        ):
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL statement_timeout = '100ms'")
            advisory_xact_lock("test.import")
    finally:
        other.close()
