"""Invitation links: a new user sets their own first password through Django's password
reset confirmation (`/accounts/reset/<uid>/<token>/`), so nobody else ever knows it.

The token is Django's password-reset token: valid for PASSWORD_RESET_TIMEOUT (three days by
default) and spent once the password is set, because it is derived from the password hash.
"""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode


def invitation_url(*, user) -> str:
    """The link that lets `user` choose their password, on the platform's public address."""
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.PLATFORM_BASE_URL.rstrip("/") + path


def invitation_valid_days() -> float:
    return settings.PASSWORD_RESET_TIMEOUT / 86400
