"""The security baseline: production settings pass `check --deploy`, every page carries the
content security policy and needs no inline code, repeated failed logins lock the
username + address pair and, spread over many addresses, the username, passwords are judged
by zxcvbn too, sessions are short-lived and secure."""

import runpy
import secrets
import time
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from riskplatform.core.sessions import SESSION_RENEWED_KEY, SESSION_STARTED_KEY

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
PASSWORD = "correct horse battery staple 42"
# What a deployment might have set in the environment that changes the settings computed.
SETTINGS_ENV = (
    "DEBUG",
    "HTTPS",
    "BEHIND_TLS_PROXY",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_AGE",
    "SESSION_IDLE_SECONDS",
    "SESSION_MAX_SECONDS",
    "AXES_FAILURE_LIMIT",
    "AXES_USERNAME_FAILURE_LIMIT",
    "AXES_COOLOFF_MINUTES",
    "EMAIL_BACKEND",
)


@pytest.fixture
def production(monkeypatch) -> dict:
    """riskplatform/settings.py evaluated as production runs it: DEBUG and HTTPS unset, a long
    random SECRET_KEY, a real host name (the test run itself serves plain HTTP)."""
    for name in SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(50))
    monkeypatch.setenv("ALLOWED_HOSTS", "risk.hospital.example")
    values = runpy.run_path(str(settings.BASE_DIR / "riskplatform" / "settings.py"))
    return {name: value for name, value in values.items() if name.isupper()}


def _security_settings(production: dict) -> dict:
    names = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "X_FRAME_OPTIONS", "MIDDLEWARE"}
    names |= {"AUTHENTICATION_BACKENDS", "CONTENT_SECURITY_POLICY"}
    prefixes = ("SECURE_", "SESSION_", "CSRF_")
    return {k: v for k, v in production.items() if k in names or k.startswith(prefixes)}


def test_production_settings_pass_check_deploy(production):
    with override_settings(**_security_settings(production)):
        # Raises SystemCheckError on any warning.
        call_command("check", "--deploy", "--fail-level", "WARNING")


def test_production_turns_https_hsts_and_secure_cookies_on(production):
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert production["SECURE_HSTS_PRELOAD"] is True
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["CSRF_COOKIE_SECURE"] is True
    assert production["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"


def test_session_cookie_is_secure_httponly_and_dies_with_the_browser(production, client):
    user = _user()
    served = {**_security_settings(production), "SECURE_SSL_REDIRECT": False}
    served["ALLOWED_HOSTS"] = [*served["ALLOWED_HOSTS"], "testserver"]
    with override_settings(**served):
        response = client.post(
            reverse("login"), {"username": user.username, "password": PASSWORD}, secure=True
        )
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    # No expiry date: the browser drops it when it closes.
    assert not cookie["expires"]
    assert not cookie["max-age"]


def _session_row(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_activity_moves_the_idle_expiry_on_at_most_once_a_minute(production, client):
    assert production["SESSION_COOKIE_AGE"] == 30 * 60
    assert production["SESSION_MAX_SECONDS"] == 8 * 3600
    client.force_login(_user(is_staff=True))
    at_login = _session_row(client).expire_date
    assert at_login <= timezone.now() + timedelta(minutes=30)

    # In the minute after login (or after the last renewal) requests write nothing.
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("admin:index")).status_code == 200
    assert not [q for q in queries if "django_session" in q["sql"] and "UPDATE" in q["sql"]]
    assert _session_row(client).expire_date == at_login

    # 25 idle minutes later: the next request moves the expiry to 30 minutes from then.
    session = client.session
    session[SESSION_RENEWED_KEY] -= 25 * 60
    session.save()
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() + timedelta(minutes=5)
    )
    assert client.get(reverse("admin:index")).status_code == 200
    assert _session_row(client).expire_date > timezone.now() + timedelta(minutes=29)

    # 30 idle minutes: the session is gone.
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_session_older_than_the_maximum_is_logged_out_whatever_the_activity(client):
    user = _user(is_staff=True)
    client.force_login(user)
    assert client.get(reverse("admin:index")).status_code == 200
    session = client.session
    session[SESSION_STARTED_KEY] = int(time.time()) - settings.SESSION_MAX_SECONDS - 1
    session.save()
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert "_auth_user_id" not in client.session


# Content security policy


class _InlineCode(HTMLParser):
    """Collects what a strict policy blocks: inline <script>, <style> elements, style=""
    attributes, on*="" handlers and javascript: links."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.found.append(f"inline <script> {self.getpos()}")
        if tag == "style":
            self.found.append(f"<style> element {self.getpos()}")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f'<{tag} {name}="{value}">')
            if name in {"href", "src", "action"} and (value or "").startswith("javascript:"):
                self.found.append(f'<{tag} {name}="{value}">')


def _policy(response) -> dict[str, str]:
    directives = (d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";"))
    return {name: sources for name, sources in directives}


def _inline_code(html: str) -> list[str]:
    parser = _InlineCode()
    parser.feed(html)
    return parser.found


def _admin_pages() -> list[str]:
    from django.contrib.auth.models import User

    user = User.objects.get(username="admin")
    return [
        reverse("admin:index"),
        reverse("admin:auth_user_changelist"),
        reverse("admin:auth_user_add"),
        reverse("admin:auth_user_change", args=[user.pk]),
        reverse("admin:auth_user_password_change", args=[user.pk]),
        reverse("admin:patients_department_changelist"),
        reverse("admin:django_celery_beat_periodictask_changelist"),
        reverse("admin:axes_accessattempt_changelist"),
        reverse("admin:axes_accesslog_changelist"),
        reverse("admin:core_accessevent_changelist"),
        reverse("admin:core_auditlog_changelist"),
        reverse("admin:password_change"),
    ]


def test_pages_carry_the_policy_and_need_no_inline_code(client, admin_client):
    anonymous = [reverse("login"), reverse("admin:login")]
    responses = [(url, client.get(url)) for url in anonymous]
    responses += [(url, admin_client.get(url)) for url in _admin_pages()]
    for url, response in responses:
        assert response.status_code == 200, url
        assert _policy(response) == POLICY, url
        assert _inline_code(response.content.decode()) == [], url


def test_the_checker_finds_inline_code():
    html = '<script>x()</script><p style="color:red" onclick="y()">a</p><style>p{}</style>'
    assert len(_inline_code(html)) == 4
    assert _inline_code('<script src="/static/a.js"></script><p class="x">a</p>') == []


# Login throttling


def _user(username: str = "carol", **extra):
    from django.contrib.auth.models import User

    return User.objects.create_user(username=username, password=PASSWORD, **extra)


def _post_login(client, url: str, password: str, address: str = "10.0.0.5"):
    return client.post(
        url, {"username": "carol", "password": password}, REMOTE_ADDR=address, follow=False
    )


@pytest.mark.parametrize("login_url", ["login", "admin:login"])
def test_five_failures_lock_the_sixth_attempt_even_with_the_right_password(client, login_url):
    _user(is_staff=True)
    url = reverse(login_url)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _post_login(client, url, "wrong password")
        assert response.status_code == 200
        assert response.context["form"].errors
    assert _post_login(client, url, "wrong password").status_code == 429

    locked = _post_login(client, url, PASSWORD)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    page = locked.content.decode()
    assert "Login locked" in page
    assert "30 minutes" in page
    assert _policy(locked) == POLICY
    assert _inline_code(page) == []

    # The lock is on the username from that address: the same user elsewhere still gets in.
    assert _post_login(client, url, PASSWORD, address="10.0.0.9").status_code == 302


def test_the_lock_lifts_after_the_cool_off_or_when_an_admin_resets_it(client):
    _user()
    url = reverse("login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _post_login(client, url, "wrong password")
    assert _post_login(client, url, PASSWORD).status_code == 429

    call_command("axes_reset_username", "carol")
    assert _post_login(client, url, PASSWORD).status_code == 302
    client.logout()

    for _ in range(settings.AXES_FAILURE_LIMIT):
        _post_login(client, url, "wrong password")
    assert _post_login(client, url, PASSWORD).status_code == 429
    assert timedelta(minutes=30) == settings.AXES_COOLOFF_TIME
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=31)
    )
    assert _post_login(client, url, PASSWORD).status_code == 302


def test_distributed_guessing_locks_the_username_on_every_address(client):
    # Four failures from each of ten addresses: under the pair limit everywhere.
    _user()
    _user("dave")
    url = reverse("login")
    answers = [
        _post_login(client, url, f"guess {i}", address=f"10.1.0.{i % 10}").status_code
        for i in range(40)
    ]
    limit = settings.AXES_USERNAME_FAILURE_LIMIT
    assert settings.AXES_FAILURE_LIMIT < limit <= 40
    assert answers[: limit - 1] == [200] * (limit - 1)
    assert set(answers[limit - 1 :]) == {429}

    # The right password from an address that never failed: refused while locked.
    locked = _post_login(client, url, PASSWORD, address="192.0.2.77")
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another user is unaffected.
    dave = client.post(url, {"username": "dave", "password": PASSWORD}, REMOTE_ADDR="10.1.0.1")
    assert dave.status_code == 302
    client.logout()

    call_command("axes_reset_username", "carol")
    assert _post_login(client, url, PASSWORD, address="192.0.2.77").status_code == 302


def test_a_success_does_not_forgive_the_other_addresses_failures(client):
    _user()
    url = reverse("login")
    limit = settings.AXES_USERNAME_FAILURE_LIMIT
    for i in range(limit - 1):
        _post_login(client, url, "wrong password", address=f"10.2.0.{i % 10}")
    assert _post_login(client, url, PASSWORD, address="10.9.9.9").status_code == 302
    client.logout()
    # Only the succeeding address's count was cleared: one more guess elsewhere locks.
    assert _post_login(client, url, "wrong password", address="10.2.0.1").status_code == 429


def test_a_username_longer_than_the_column_is_an_ordinary_failure(client):
    response = client.post(reverse("login"), {"username": "a" * 100_000, "password": "x"})
    assert response.status_code == 200
    assert AccessAttempt.objects.get().username == "a" * 255


# Passwords

WEAK_PASSWORDS = [
    "Sh0rt!pass",
    "password1234",
    "123456789012345",
    "carol-the-user",
    "pw_user_pw_user",
    "pw_user12345678",
    "aaaaaaaaaaaa",
    "abcdefghijkl",
    "qwertyuiopasdf",
    "Passw0rd!Passw0rd",
    "iloveyou12345",
]


@pytest.mark.parametrize("password", WEAK_PASSWORDS)
def test_weak_passwords_are_rejected(password):
    from django.contrib.auth.models import User

    user = User(username="carol-the-user")
    if password.startswith("pw_user"):
        user = User(username="pw_user", email="pw_user@example.org")
    with pytest.raises(ValidationError):
        validate_password(password, user=user)


@pytest.mark.parametrize(
    ("password", "advice"),
    [
        ("aaaaaaaaaaaa", 'Repeats like "aaa" are easy to guess.'),
        ("abcdefghijkl", 'Sequences like "abc" or "6543" are easy to guess.'),
        ("pw_user_pw_user", "avoid your username"),
    ],
)
def test_the_refusal_says_why(password, advice):
    from django.contrib.auth.models import User

    with pytest.raises(ValidationError) as refused:
        validate_password(password, user=User(username="pw_user"))
    [message] = [m for m in refused.value.messages if m.startswith("This password is too easy")]
    assert advice in message


def test_zxcvbn_alone_refuses_what_djangos_validators_pass():
    from django.contrib.auth.models import User

    from riskplatform.core.passwords import ZxcvbnValidator

    user = User(username="pw_user")
    for password in WEAK_PASSWORDS[4:]:
        with pytest.raises(ValidationError):
            ZxcvbnValidator().validate(password, user=user)


@pytest.mark.parametrize(
    "password",
    [PASSWORD, "tangerine obelisk quietly 7", "Q" + "correct horse battery staple " * 10],
    ids=["passphrase", "another", "longer-than-zxcvbn-reads"],
)
def test_a_long_uncommon_passphrase_is_accepted(password):
    from django.contrib.auth.models import User

    validate_password(password, user=User(username="pw_user"))
