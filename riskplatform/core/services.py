from typing import Any

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
