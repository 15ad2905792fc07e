import os
import secrets
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from riskplatform.core.models import AuditEvent, AuditLog


def audit_event_record(
    *,
    event_type: AuditEvent | str,
    changed_by: str,
    entity_type: str | None = None,
    entity_id: int | None = None,
    old_values: dict[str, Any] | None = None,
    new_values: dict[str, Any] | None = None,
    model_version: str | None = None,
    prediction_window: str | None = None,
) -> AuditLog:
    """Append one audit event. Call it inside the service's transaction so that the event and
    the change it describes commit or roll back together."""
    return AuditLog.objects.create(
        event_type=event_type,
        changed_by=changed_by,
        entity_type=entity_type,
        entity_id=entity_id,
        old_values=old_values,
        new_values=new_values,
        model_version=model_version,
        prediction_window=prediction_window,
    )


def admin_user_ensure(*, username: str, credentials_path: Path) -> str | None:
    """Create the first platform admin if missing, with a random password kept in a 0600
    file under the local data folder. Returns the password when it was created just now,
    None when the user existed: the password is shown once, not on every start (terminal
    scrollback and service logs keep what is printed)."""
    user_model = get_user_model()
    with transaction.atomic():
        if user_model.objects.filter(username=username).exists():
            return None
        password = secrets.token_urlsafe(16)
        user_model.objects.create_superuser(username=username, email=None, password=password)
    credentials_path.unlink(missing_ok=True)  # a stale file of an earlier database
    fd = os.open(credentials_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(password)
    return password
