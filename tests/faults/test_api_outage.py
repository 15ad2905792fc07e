"""The drill, for real: a gunicorn web process on a private PostgreSQL that is stopped.

A submission while the database is down answers a JSON 503 with Retry-After (never an HTML
500); once it is back, the retry with the same Idempotency-Key saves the patient, a further
retry gets the same answer, and exactly one patient exists. Two identical submissions at the
same moment also make one patient and two equal answers: the second waits in PostgreSQL for
the first's idempotency row, then returns its answer."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from riskplatform.core.api_auth import api_client_create
from riskplatform.drills.postgres import wait_until
from riskplatform.drills.web import api_post, web_server
from tests.patients.csv_files import row

pytestmark = pytest.mark.django_db(transaction=True)
PATIENTS = "/api/patients/"


@pytest.fixture
def api_token(reference_data) -> str:
    # Committed to the test database before private_postgres copies it.
    return api_client_create(name="ehr")[1]


def _body(number: int, **values) -> dict:
    return {k: v for k, v in row(number, **values).items() if v != ""}


def _patients(server, external_id: str) -> int:
    with server.connect() as conn:
        query = "SELECT count(*) FROM patients WHERE external_id = %s"
        return conn.execute(query, [external_id]).fetchone()[0]


def test_a_submission_during_a_database_outage_is_retried_safely(
    active_version, api_token, private_postgres, tmp_path
):
    with web_server(database_url=private_postgres.url, folder=tmp_path,
                    env={"API_RETRY_AFTER_SECONDS": "7"}) as port:  # fmt: skip
        # The web workers hold connections when the database goes, as in the drill.
        assert api_post(port, PATIENTS, _body(1), token=api_token)[0] == 201
        private_postgres.stop()

        status, headers, answer = api_post(port, PATIENTS, _body(2), token=api_token, key="m-2")
        assert status == 503, answer
        assert headers["Content-Type"] == "application/json"
        assert headers["Retry-After"] == "7"
        assert answer["errors"]["__all__"][0].startswith("The database is unavailable")
        assert api_post(port, PATIENTS, _body(3), token=api_token)[0] == 503  # no key: too

        private_postgres.start()
        status, _, first = api_post(port, PATIENTS, _body(2), token=api_token, key="m-2")
        assert status == 201, first
        assert first["scoring_status"] == "scored"
        status, _, again = api_post(port, PATIENTS, _body(2), token=api_token, key="m-2")
        assert (status, again) == (201, first)
    assert _patients(private_postgres, row(2)["external_id"]) == 1
    assert _patients(private_postgres, row(3)["external_id"]) == 0


@pytest.mark.parametrize("keyed", [True, False], ids=["idempotency-key", "external-id"])
def test_two_identical_submissions_at_once_make_one_patient(
    active_version, api_token, private_postgres, tmp_path, keyed
):
    body, key = _body(5), ("m-5" if keyed else None)
    with web_server(database_url=private_postgres.url, folder=tmp_path) as port, \
            private_postgres.connect(autocommit=False) as blocker:  # fmt: skip
        # Hold inserts into patients: the first request then waits there, inside its
        # transaction, while the second waits on the first's idempotency row.
        blocker.execute("LOCK TABLE patients IN SHARE MODE")
        with ThreadPoolExecutor(2) as pool:
            futures = [
                pool.submit(api_post, port, PATIENTS, body, token=api_token, key=key)
                for _ in range(2)
            ]
            wait_until(lambda: _lock_waits(private_postgres) == 2, timeout=60,
                       message="the two requests did not both wait in PostgreSQL")  # fmt: skip
            blocker.commit()
            answers = [future.result(timeout=60) for future in futures]
    (status_a, _, answer_a), (status_b, _, answer_b) = answers
    assert (status_a, status_b) == (201, 201), answers
    assert answer_a == answer_b
    assert _patients(private_postgres, body["external_id"]) == 1
    with private_postgres.connect() as conn:
        added = "SELECT count(*) FROM audit_log WHERE event_type = 'PATIENT_ADDED'"
        assert conn.execute(added).fetchone()[0] == 1


def _lock_waits(server) -> int:
    with server.connect() as conn:
        query = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return conn.execute(query).fetchone()[0]
