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


def admin_user_ensure(*, username: str, credentials_path: Path) -> tuple[str, str | None]:
    """Create the first platform admin if missing, with a random password kept in a
    0600 file under the local data folder. Returns (username, password or None when the
    user existed before and no credentials file is known)."""
    user_model = get_user_model()
    with transaction.atomic():
        if user_model.objects.filter(username=username).exists():
            if credentials_path.exists():
                return username, credentials_path.read_text().strip()
            return username, None
        password = secrets.token_urlsafe(16)
        user_model.objects.create_superuser(username=username, email=None, password=password)
    credentials_path.write_text(password)
    credentials_path.chmod(0o600)
    return username, password
