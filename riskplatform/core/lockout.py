"""Login lockout in two dimensions (django-axes): AXES_FAILURE_LIMIT failures of one username
from one address, or AXES_USERNAME_FAILURE_LIMIT failures of that username from all
addresses together, whichever comes first, each within AXES_COOLOFF_TIME of the last.

django-axes takes several parameter combinations but compares them all with one limit, so
the per-username count is checked here, on the pair's scale (docs/operations.md, "Login
lockout"). Both counts are AccessAttempt rows: `axes_reset_username` lifts both.
"""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest


def lockout_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """The username axes counts (as axes finds it), cut to AccessAttempt's column: a longer
    one made the failed login a 500 (value too long for character varying(255))."""
    field = settings.AXES_USERNAME_FORM_FIELD
    username = (credentials or {}).get(field) if credentials else request.POST.get(field)
    if username is None:
        return None
    return str(username)[: AccessAttempt._meta.get_field("username").max_length]


def username_failures(request: HttpRequest, credentials: dict | None = None) -> int:
    """Failed logins for the request's username from every address, within the cool-off."""
    username = get_client_username(request, credentials)
    if username is None:
        return 0
    attempts = AccessAttempt.objects.filter(username=username)
    if settings.AXES_COOLOFF_TIME is not None:
        attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


class TwoLimitHandler(AxesDatabaseHandler):
    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """The pair's failures; the pair's limit once the username's own limit is reached
        (axes locks when this reaches AXES_FAILURE_LIMIT, both before and after a login)."""
        failures = super().get_failures(request, credentials)
        if username_failures(request, credentials) >= settings.AXES_USERNAME_FAILURE_LIMIT:
            return max(failures, get_failure_limit(request, credentials))
        return failures
