"""The platform's URLs plus API views that really fail (test_api_failures.py)."""

import psycopg
import redis
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.db import connection, transaction
from django.http import Http404, HttpResponse
from django.urls import path

from riskplatform.core.net import free_port
from riskplatform.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401


def database_unreachable(request):
    psycopg.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/x", connect_timeout=2)


def statement_timeout(request):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 1")
        cursor.execute("SELECT pg_sleep(1)")


def broker_unreachable(request):
    redis.Redis(port=free_port(), socket_connect_timeout=1).ping()


def bug(request):
    return HttpResponse(str(1 / 0))


def bad_request(request):
    raise BadRequest("The x parameter is not a number.")


def suspicious(request):
    raise SuspiciousOperation("details for the security log only")


def forbidden(request):
    raise PermissionDenied


def missing(request):
    raise Http404("no such thing")


urlpatterns = [
    path("api/test/database-unreachable/", database_unreachable),
    path("api/test/statement-timeout/", statement_timeout),
    path("api/test/broker-unreachable/", broker_unreachable),
    path("api/test/bug/", bug),
    path("pages/test/bug/", bug),
    path("api/test/bad-request/", bad_request),
    path("api/test/suspicious/", suspicious),
    path("api/test/forbidden/", forbidden),
    path("api/test/missing/", missing),
    path("pages/test/bad-request/", bad_request),
    path("pages/test/forbidden/", forbidden),
    *urlpatterns,
]
