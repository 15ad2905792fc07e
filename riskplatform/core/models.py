from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.functions import Now


class AuditEvent(models.TextChoices):
    PATIENT_ADDED = "PATIENT_ADDED"
    PATIENT_UPDATED = "PATIENT_UPDATED"
    FEATURES_UPDATED = "FEATURES_UPDATED"
    PREDICTION_RUN = "PREDICTION_RUN"
    MODEL_REGISTERED = "MODEL_REGISTERED"
    MODEL_UPDATE = "MODEL_UPDATE"
    MODEL_PROMOTED = "MODEL_PROMOTED"
    POLICY_CHANGED = "POLICY_CHANGED"
    VIEW_REFRESH = "VIEW_REFRESH"
    IMPORT_RUN = "IMPORT_RUN"


class AuditLog(models.Model):
    """Append-only record of significant events (the seed's `audit_log`).

    PostgreSQL itself refuses UPDATE and DELETE on this table (trigger in migration 0001).
    """

    log_id = models.BigAutoField(primary_key=True)
    event_type = models.CharField(max_length=50, choices=AuditEvent.choices)
    entity_type = models.CharField(max_length=50, null=True, blank=True)
    entity_id = models.BigIntegerField(null=True, blank=True)
    old_values = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    new_values = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    model_version = models.CharField(max_length=20, null=True, blank=True)
    prediction_window = models.CharField(max_length=10, null=True, blank=True)
    changed_by = models.CharField(max_length=50)
    changed_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "audit_log"
        ordering = ["-changed_at", "-log_id"]
        indexes = [
            models.Index(fields=["entity_type", "entity_id"], name="idx_audit_entity"),
            models.Index(fields=["event_type"], name="idx_audit_event_type"),
            models.Index(fields=["changed_at"], name="idx_audit_changed_at"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} by {self.changed_by}"


class ApiClient(models.Model):
    """An integration (an EHR, say) allowed to call the JSON API. Only the sha256 of its
    token is stored; the token itself is shown once, when the client is created."""

    name = models.CharField(max_length=100, unique=True)
    token_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "api_clients"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
