from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
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
    ROLE_ASSIGNED = "ROLE_ASSIGNED"
    DIGEST_SENT = "DIGEST_SENT"
    INTERVENTION_RECORDED = "INTERVENTION_RECORDED"
    ADMISSIONS_IMPORTED = "ADMISSIONS_IMPORTED"
    OUTCOMES_EVALUATED = "OUTCOMES_EVALUATED"
    MODEL_MONITORED = "MODEL_MONITORED"
    TRAINING_DATA_REGISTERED = "TRAINING_DATA_REGISTERED"


class AuditLog(models.Model):
    """Append-only record of significant events (the seed's `audit_log`).

    PostgreSQL itself refuses UPDATE and DELETE on this table (trigger in migration 0002), the
    application's role may only INSERT and SELECT, and each row is a link of a hash chain
    (migration 0012, `audit_verify`).
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
    # Set by the insert trigger, never by the writer (the defaults only make Django read them
    # back): the row's place in the chain and sha256(previous row_hash || its content).
    chain_seq = models.BigIntegerField(db_default=0, editable=False)
    row_hash = models.CharField(max_length=64, db_default="", editable=False)

    class Meta:
        db_table = "audit_log"
        ordering = ["-changed_at", "-log_id"]
        constraints = [
            models.UniqueConstraint(fields=["chain_seq"], name="audit_log_chain_seq_unique")
        ]
        indexes = [
            models.Index(fields=["entity_type", "entity_id"], name="idx_audit_entity"),
            models.Index(fields=["event_type"], name="idx_audit_event_type"),
            models.Index(fields=["changed_at"], name="idx_audit_changed_at"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} by {self.changed_by}"


class LogChainHead(models.Model):
    """The last link of each log's hash chain, kept by the insert triggers (the application's
    role may only read it): its row lock orders concurrent inserts into one chain, and
    `audit_verify` checks that no row after it is missing."""

    table_name = models.CharField(max_length=63, primary_key=True)
    last_seq = models.BigIntegerField()
    last_hash = models.CharField(max_length=64)

    class Meta:
        db_table = "log_chain_heads"

    def __str__(self) -> str:
        return f"{self.table_name} #{self.last_seq}"


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


class AccessAction(models.TextChoices):
    PATIENT_VIEW = "PATIENT_VIEW", "Patient page"
    WORKLIST_VIEW = "WORKLIST_VIEW", "Worklist"
    REPORT_VIEW = "REPORT_VIEW", "Report"
    EXPORT = "EXPORT", "Export"
    ADMIN_VIEW = "ADMIN_VIEW", "Admin page"


class AccessEvent(models.Model):
    """Who looked at which patients (by uuid) or which report, when and from where: the PHI
    access log (the seed's impossible AFTER SELECT trigger, written by the views instead).

    Append-only in PostgreSQL (trigger in migration 0005; INSERT and SELECT only for the
    application's role) and hash-chained like AuditLog. The user is kept by id and name,
    without a foreign key, so the record outlives the account.
    """

    event_id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(db_default=Now())
    user_id = models.IntegerField(null=True, blank=True)
    username = models.CharField(max_length=150)
    action = models.CharField(max_length=20, choices=AccessAction.choices)
    report = models.CharField(max_length=200, blank=True, default="")
    patient_uuids = ArrayField(models.UUIDField(), default=list, blank=True)
    patient_count = models.IntegerField(default=0)
    path = models.CharField(max_length=500, blank=True, default="")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    chain_seq = models.BigIntegerField(db_default=0, editable=False)  # as AuditLog's
    row_hash = models.CharField(max_length=64, db_default="", editable=False)

    class Meta:
        db_table = "access_log"
        ordering = ["-occurred_at", "-event_id"]
        constraints = [
            models.UniqueConstraint(fields=["chain_seq"], name="access_log_chain_seq_unique")
        ]
        indexes = [
            models.Index(fields=["occurred_at"], name="idx_access_occurred_at"),
            models.Index(fields=["username", "occurred_at"], name="idx_access_user"),
            GinIndex(fields=["patient_uuids"], name="idx_access_patients"),
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.get_action_display()} {self.report}".strip()


class ApiIdempotencyKey(models.Model):
    """The first answer to an API submission, given again to a retry instead of repeating
    the submission (docs/operations.md, "Outages and retries").

    One row per client, endpoint and key: the Idempotency-Key header, or for a patient
    submitted with an external_id, that id (endpoint "patients:external_id"). The row is
    inserted before the submission's writes and completed with the answer in the same
    transaction, so PostgreSQL's unique index makes a concurrent twin wait for the first and
    then read its answer. Answers name patients by patient_uuid only. Rows older than
    API_IDEMPOTENCY_KEY_HOURS are ignored and purged hourly.
    """

    id = models.BigAutoField(primary_key=True)
    api_client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    endpoint = models.CharField(max_length=30)
    key = models.CharField(max_length=255)
    request_sha256 = models.CharField(max_length=64)
    # Empty only inside the transaction that claims the key; nobody else ever sees that.
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "api_idempotency_keys"
        constraints = [
            models.UniqueConstraint(
                fields=["api_client", "endpoint", "key"], name="api_idempotency_key_unique"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="idx_api_idempotency_created")]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key}"
