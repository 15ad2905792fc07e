"""Session lifetime: an idle limit that costs one write a minute, and an absolute limit.

Django ends a session SESSION_COOKIE_AGE after its last save. Saving on every request
(SESSION_SAVE_EVERY_REQUEST) would make that an idle limit at the price of one UPDATE per
request; this middleware saves at most once a minute for an active user instead, so a session
ends between SESSION_COOKIE_AGE - 60 s and SESSION_COOKIE_AGE after the user's last request.
It also logs a session out SESSION_MAX_SECONDS after login, however active the user, which
Django alone never does.
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

SESSION_STARTED_KEY = "riskplatform_session_started"
SESSION_RENEWED_KEY = "riskplatform_session_renewed"
RENEW_AFTER_SECONDS = 60


def session_clock_start(*, request: HttpRequest, **kwargs) -> None:
    """user_logged_in receiver: login saves the session anyway, so these cost no write."""
    now = int(time.time())
    request.session[SESSION_STARTED_KEY] = now
    request.session[SESSION_RENEWED_KEY] = now


class SessionLifetimeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            session = request.session
            now = int(time.time())
            started = session.get(SESSION_STARTED_KEY)
            if started is not None and now - started > settings.SESSION_MAX_SECONDS:
                logout(request)
            elif now - session.get(SESSION_RENEWED_KEY, 0) >= RENEW_AFTER_SECONDS:
                # A changed session is saved with a new expiry: SESSION_COOKIE_AGE from now.
                # (A session from before this middleware has neither key: it starts now.)
                session.setdefault(SESSION_STARTED_KEY, now)
                session[SESSION_RENEWED_KEY] = now
        return self.get_response(request)
