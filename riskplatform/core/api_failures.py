"""JSON answers for failures on the JSON API (/api/...), never Django's HTML error pages.

A database or broker outage answers 503 with Retry-After: the client retries later, with the
same Idempotency-Key, and gets the saved answer if the first attempt was saved after all
(docs/operations.md, "Outages and retries"). Anything else unexpected answers a JSON 500 and
is logged with its traceback. Every other error answer under /api/ is JSON too: 400, 403, 404,
405 and 413 (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, riskplatform/core/request_limits.py).
"""

import logging
import sys
from collections.abc import Callable

import kombu.exceptions
import psycopg
import redis
from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
_DATABASE_DOWN = (OperationalError, InterfaceError, psycopg.OperationalError,
                  psycopg.InterfaceError)  # fmt: skip
_BROKER_DOWN = (redis.ConnectionError, redis.TimeoutError, kombu.exceptions.OperationalError)
# Raised on purpose; Django turns them into 400/403/404 through the handlers below.
_CLIENT_ERRORS = (Http404, PermissionDenied, BadRequest, SuspiciousOperation)
# What a non-JSON error answer of the API (require_POST's bare 405, say) says instead.
_STATUS_MESSAGES = {
    400: "The request is not valid.",
    403: "This request is not allowed.",
    404: "There is no such API endpoint.",
    405: "This method is not allowed here.",
    413: "The request body is too large.",
}


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
        response = self.get_response(request)
        if request.path.startswith(API_PREFIX):
            return _as_json(response)
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX):
            return None  # pages keep Django's handling (the 500 page, the debug page)
        if isinstance(exc, _CLIENT_ERRORS):
            return None  # the handlers below answer them, in JSON
        return api_failure_response(request, exc)


def _as_json(response: HttpResponse) -> HttpResponse:
    """An API error answer made elsewhere than the API's views (a decorator, a middleware)
    in JSON, with its status and headers (Allow on a 405) kept."""
    if response.status_code < 400 or response.get("Content-Type", "").startswith(
        "application/json"
    ):
        return response
    message = _STATUS_MESSAGES.get(response.status_code, "The request could not be completed.")
    answer = _errors(message, response.status_code)
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in response:
            answer[header] = response[header]
    return answer


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: for a failure outside a view (in a middleware), still JSON on the API.
    Django calls it while handling the exception, so sys.exc_info() holds it."""
    exc = sys.exc_info()[1]
    if request.path.startswith(API_PREFIX) and exc is not None:
        return api_failure_response(request, exc)
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: JSON on the API (413 for a body over the limit), Django's page elsewhere."""
    if request.path.startswith(API_PREFIX):
        if isinstance(exception, RequestDataTooBig):
            return _errors(
                f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
                413,
            )
        return _errors(_client_message(exception, 400), 400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403: JSON on the API, the usual page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return _errors(_client_message(exception, 403), 403)
    return defaults.permission_denied(request, exception)


def _client_message(exception: Exception, status: int) -> str:
    # BadRequest and PermissionDenied are raised with words for the client; a
    # SuspiciousOperation's words are for the security log only.
    if type(exception) in (BadRequest, PermissionDenied) and str(exception):
        return str(exception)
    return _STATUS_MESSAGES[status]


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: JSON on the API, the usual page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return _errors("There is no such API endpoint.", 404)
    return defaults.page_not_found(request, exception)
