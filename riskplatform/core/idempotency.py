"""Idempotent API submissions: a retry gets the first answer instead of a second write.

A client that got no answer (a timeout, a 503, a dropped connection) cannot know whether its
submission was saved. It retries with the same Idempotency-Key header and the same body: if
the first attempt was saved, the retry gets that attempt's answer (same status and body);
otherwise the retry is processed as new. The key with a different body answers 409.
docs/operations.md, "Outages and retries".
"""

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.http import HttpRequest
from django.utils import timezone

from riskplatform.core.models import ApiClient, ApiIdempotencyKey

KEY_HEADER = "Idempotency-Key"
EXTERNAL_ID_ENDPOINT = "patients:external_id"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII: a UUID, a hash, an EHR message id
_UNIQUE = "api_idempotency_key_unique"


class InvalidIdempotencyKey(ValueError):
    pass


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: dict

    @property
    def kept(self) -> bool:
        # Only a success is kept: after an error nothing was written, so a retry is judged
        # afresh (and may succeed, once the patient it names exists, say).
        return 200 <= self.status < 300


@dataclass(frozen=True)
class SubmissionKey:
    endpoint: str
    key: str


class _Unkept(Exception):
    def __init__(self, answer: ApiAnswer) -> None:
        self.answer = answer


def idempotency_key_from(request: HttpRequest) -> str | None:
    """The request's Idempotency-Key, None without one; InvalidIdempotencyKey if malformed."""
    key = request.headers.get(KEY_HEADER)
    if key is None:
        return None
    if not _KEY.fullmatch(key):
        raise InvalidIdempotencyKey(
            f"{KEY_HEADER} must be 1 to 255 visible ASCII characters (a UUID, say)."
        )
    return key


def request_fingerprint(payload) -> str:
    """The sha256 of the parsed body in a canonical form: the same fields and values give
    the same fingerprint whatever the key order or whitespace."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def key_expiry() -> timedelta:
    return timedelta(hours=settings.API_IDEMPOTENCY_KEY_HOURS)


@transaction.atomic
def api_submission_answer(
    *,
    api_client: ApiClient,
    keys: list[SubmissionKey],
    fingerprint: str,
    submit: Callable[[], ApiAnswer],
) -> ApiAnswer:
    """Answer a submission once per key: claim each key (in order), then either return the
    answer an earlier submission left under one of them, 409 if that submission had another
    body, or run `submit` and keep its answer under every key, all in one transaction.

    A claim is a row under a unique index, inserted before `submit` writes anything: a twin
    request arriving meanwhile waits in PostgreSQL for this transaction, then reads the
    answer. An error answer is not kept; the transaction then leaves no trace.
    """
    try:
        with transaction.atomic():
            claimed, answer = [], None
            for key in keys:
                row, earlier = _claim(api_client=api_client, key=key, fingerprint=fingerprint)
                if earlier is not None:
                    answer = _earlier_answer(key=key, earlier=earlier, fingerprint=fingerprint)
                    break
                claimed.append(row)
            if answer is None:
                answer = submit()
                if transaction.get_rollback():
                    # A savepoint inside `submit` could not be rolled back: the connection
                    # broke, and this transaction can no longer commit.
                    raise OperationalError("the database connection broke during the request")
            if not answer.kept:
                raise _Unkept(answer)
            for row in claimed:
                row.response_status, row.response_body = answer.status, answer.body
                row.save(update_fields=["response_status", "response_body"])
            return answer
    except _Unkept as unkept:
        return unkept.answer


def _claim(
    *, api_client: ApiClient, key: SubmissionKey, fingerprint: str
) -> tuple[ApiIdempotencyKey | None, ApiIdempotencyKey | None]:
    """(the new claim, None), or (None, the earlier submission's committed row)."""
    identity = {"api_client": api_client, "endpoint": key.endpoint, "key": key.key}
    for _attempt in range(3):
        try:
            with transaction.atomic():
                row = ApiIdempotencyKey.objects.create(**identity, request_sha256=fingerprint)
            return row, None
        except IntegrityError as exc:
            if getattr(exc.__cause__, "diag", None) is None or (
                exc.__cause__.diag.constraint_name != _UNIQUE
            ):
                raise
        # The insert waited for the earlier transaction and found its committed row.
        earlier = ApiIdempotencyKey.objects.filter(**identity).first()
        if earlier is None:
            continue  # purged in between: claim it again
        if earlier.created_at < timezone.now() - key_expiry():
            earlier.delete()  # expired: the key is free again
            continue
        return None, earlier
    raise OperationalError(f"the {KEY_HEADER} {key.key!r} is being claimed repeatedly")


def _earlier_answer(
    *, key: SubmissionKey, earlier: ApiIdempotencyKey, fingerprint: str
) -> ApiAnswer:
    if earlier.request_sha256 == fingerprint:
        return ApiAnswer(earlier.response_status, earlier.response_body)
    if key.endpoint == EXTERNAL_ID_ENDPOINT:
        return external_id_conflict(
            "A patient with this external_id was already submitted with different values."
        )
    return ApiAnswer(409, {"errors": {"__all__": [
        f"This {KEY_HEADER} was already used with a different request body. A retry must "
        "repeat the first request exactly; a new submission needs a new key."
    ]}})  # fmt: skip


def external_id_conflict(message: str) -> ApiAnswer:
    return ApiAnswer(409, {"errors": {"external_id": [message]}})


@transaction.atomic
def idempotency_keys_purge(*, older_than: timedelta | None = None) -> int:
    """Delete kept answers older than API_IDEMPOTENCY_KEY_HOURS (or `older_than`); returns
    how many. Housekeeping of retry state, so no audit event."""
    cutoff = timezone.now() - (older_than if older_than is not None else key_expiry())
    deleted, _ = ApiIdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
