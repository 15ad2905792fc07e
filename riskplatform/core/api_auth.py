"""Bearer-token authentication for the JSON API: one token per client, stored hashed."""

import hashlib
import secrets
from datetime import timedelta
from functools import wraps

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from riskplatform.core.models import ApiClient

LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_client_create(*, name: str) -> tuple[ApiClient, str]:
    """A new client and its token (returned once; only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    return ApiClient.objects.create(name=name, token_sha256=token_hash(token)), token


def api_errors(errors: dict, status: int = 400) -> JsonResponse:
    """The API's error answer: {"errors": {field or "__all__": [...], ...}}."""
    return JsonResponse({"errors": errors}, status=status)


def api_actor(request: HttpRequest) -> str:
    """Who an API call's writes are attributed to (the audit's changed_by)."""
    return f"api:{request.api_client.name}"[:50]


def _unauthorised(message: str, status: int) -> JsonResponse:
    response = api_errors({"__all__": [message]}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="riskplatform"'
    return response


def api_client_required(view):
    """401 without a valid token, 403 for a disabled client; sets request.api_client."""

    @csrf_exempt  # token-authenticated, no cookies: CSRF does not apply
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _unauthorised("Authorization: Bearer <token> is required.", 401)
        client = ApiClient.objects.filter(token_sha256=token_hash(token.strip())).first()
        if client is None:
            return _unauthorised("The token is not valid.", 401)
        if not client.is_active:
            return _unauthorised("This API client is disabled.", 403)
        now = timezone.now()
        if client.last_used_at is None or now - client.last_used_at > LAST_USED_RESOLUTION:
            # Once a minute is precise enough for "is this client still in use", and spares
            # every request a write.
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        request.api_client = client
        return view(request, *args, **kwargs)

    return wrapper
