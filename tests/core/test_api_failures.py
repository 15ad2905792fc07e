"""The JSON API answers failures in JSON: an outage of the database or the broker is a 503
with Retry-After, anything else a 500, never Django's HTML pages. The views in
api_failure_urls.py fail for real (a refused connection, a statement timeout, a bug)."""

import kombu.exceptions
import pytest
from django.db import OperationalError
from django.test import Client, RequestFactory

from riskplatform.core.api_failures import outage_of, server_error

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.api_failure_urls")]


@pytest.fixture
def client():
    # Pages' exceptions would be re-raised into the test; the point is what clients get.
    return Client(raise_request_exception=False)


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/test/database-unreachable/", "The database"),
        ("/api/test/statement-timeout/", "The database"),
        ("/api/test/broker-unreachable/", "The message broker"),
    ],
)
def test_an_outage_is_a_json_503_with_retry_after(client, settings, path, service, caplog):
    settings.API_RETRY_AFTER_SECONDS = 7
    response = client.post(path)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "7"
    [message] = response.json()["errors"]["__all__"]
    assert message.startswith(f"{service} is unavailable right now. Retry in 7 s")
    assert any(r.levelname == "WARNING" and "unavailable" in r.message for r in caplog.records)


def test_any_other_failure_is_a_json_500_and_logged(client, caplog):
    response = client.post("/api/test/bug/")
    assert response.status_code == 500
    assert response.json() == {
        "errors": {"__all__": ["Internal error: the request could not be completed."]}
    }
    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert record.exc_info[0] is ZeroDivisionError


def test_pages_keep_the_html_error_page(client):
    response = client.get("/pages/test/bug/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_an_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"errors": {"__all__": ["There is no such API endpoint."]}}


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/test/bad-request/", 400, "The x parameter is not a number."),
        ("/api/test/suspicious/", 400, "The request is not valid."),
        ("/api/test/forbidden/", 403, "This request is not allowed."),
        ("/api/test/missing/", 404, "There is no such API endpoint."),
    ],
)
def test_client_errors_raised_in_an_api_view_are_json(client, path, status, message):
    response = client.get(path)
    assert response.status_code == status
    assert response.json() == {"errors": {"__all__": [message]}}


@pytest.mark.parametrize(
    ("path", "status"), [("/pages/test/bad-request/", 400), ("/pages/test/forbidden/", 403)]
)
def test_pages_keep_djangos_client_error_pages(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")


def test_a_failure_outside_the_view_is_json_too():
    # Django calls handler500 while handling an exception raised in a middleware.
    request = RequestFactory().post("/api/patients/")
    try:
        raise OperationalError("connection to server failed")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503 and "Retry-After" in response


def test_what_counts_as_an_outage():
    assert outage_of(kombu.exceptions.OperationalError("Error 111 connecting")) == (
        "the message broker"
    )
    wrapped = RuntimeError("while saving")
    wrapped.__cause__ = OperationalError("server closed the connection unexpectedly")
    assert outage_of(wrapped) == "the database"
    assert outage_of(ValueError("a bug")) is None
