"""Requests refused before any view runs: a body over the size limit on the API (413) and a
NUL character in the path or the query string anywhere (400), which PostgreSQL cannot store
or compare and would otherwise surface as a server error in whichever lookup used it."""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from riskplatform.core.api_failures import API_PREFIX


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # as Django reads it: nothing


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path:
        return True
    return any("\x00" in key or any("\x00" in v for v in values)
               for key, values in request.GET.lists())  # fmt: skip


class RequestLimitsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if (
            request.path.startswith(API_PREFIX)
            and limit is not None
            and _declared_length(request) > limit
        ):
            # Refused on the declared length, before a byte of the body is read.
            raise RequestDataTooBig(f"The body is larger than {limit} bytes.")
        if _has_nul(request):
            raise BadRequest("The address contains a NUL character (%00).")
        return self.get_response(request)
