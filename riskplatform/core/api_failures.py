"""JSON answers for failures on the JSON API (/api/...), never Django's HTML error pages.

A database or broker outage answers 503 with Retry-After: the client retries later, with the
same Idempotency-Key, and gets the saved answer if the first attempt was saved after all
(docs/operations.md, "Outages and retries"). Anything else unexpected answers a JSON 500 and
is logged with its traceback.
"""

import logging
import sys
from collections.abc import Callable

import kombu.exceptions
import psycopg
import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
_DATABASE_DOWN = (OperationalError, InterfaceError, psycopg.OperationalError,
                  psycopg.InterfaceError)  # fmt: skip
_BROKER_DOWN = (redis.ConnectionError, redis.TimeoutError, kombu.exceptions.OperationalError)


def outage_of(exc: BaseException) -> str | None:
    """'the database' or 'the message broker' when `exc` (or what it was raised from or
    while handling) is a connection-level failure of that service, otherwise None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _DATABASE_DOWN):
            return "the database"
        if isinstance(current, _BROKER_DOWN):
            return "the message broker"
        current = current.__cause__ or current.__context__
    return None


def _errors(message: str, status: int) -> JsonResponse:
    # The API's error format (riskplatform.core.api_auth.api_errors), without importing the
    # models that module needs.
    return JsonResponse({"errors": {"__all__": [message]}}, status=status)


def api_failure_response(request: HttpRequest, exc: BaseException) -> JsonResponse:
    """The JSON answer for an exception that escaped an API view; logged."""
    service = outage_of(exc)
    if service is None:
        logger.error("%s %s failed", request.method, request.path, exc_info=exc)
        return _logged(_errors("Internal error: the request could not be completed.", 500))
    seconds = settings.API_RETRY_AFTER_SECONDS
    # One line per request, not a traceback each: an outage produces many of these.
    reason = (str(exc).strip().splitlines() or [""])[0]
    logger.warning("%s %s: %s is unavailable (%s: %s)", request.method, request.path, service,
                   type(exc).__name__, reason)  # fmt: skip
    response = _errors(
        f"{service.capitalize()} is unavailable right now. Retry in {seconds} s with the same "
        "Idempotency-Key: a submission that was saved is then answered as saved, never twice.",
        503,
    )
    response["Retry-After"] = str(seconds)
    return _logged(response)


def _logged(response: JsonResponse) -> JsonResponse:
    # Logged above; spares django.request a second ERROR line for the same failure.
    response._has_been_logged = True
    return response


class ApiFailureMiddleware:
    """Turns an exception from an API view into a JSON 503 (outage) or 500 (anything else)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX):
            return None  # pages keep Django's handling (the 500 page, the debug page)
        return api_failure_response(request, exc)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: for a failure outside a view (in a middleware), still JSON on the API.
    Django calls it while handling the exception, so sys.exc_info() holds it."""
    exc = sys.exc_info()[1]
    if request.path.startswith(API_PREFIX) and exc is not None:
        return api_failure_response(request, exc)
    return defaults.server_error(request)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: JSON on the API, the usual page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return _errors("There is no such API endpoint.", 404)
    return defaults.page_not_found(request, exception)
