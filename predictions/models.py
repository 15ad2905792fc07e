from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import CheckConstraint, ExpressionWrapper, F, Q
from django.db.models.functions import Now
from simple_history.models import HistoricalRecords

from patients.models import Patient
from riskplatform.core.constraints import between, one_of
from riskplatform.core.windows import TIER_LABELS, PredictionWindow, RiskTier


class ModelStatus(models.TextChoices):
    CANDIDATE = "candidate"
    ACTIVE = "active"
    RETIRED = "retired"


class ModelVersionManager(models.Manager):
    # Artifacts are megabytes and only the model loader needs them: it asks explicitly.
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().defer("artifact")


class ModelVersion(models.Model):
    """The model registry. One artifact holds the three window models of a version."""

    version = models.CharField(max_length=20, unique=True, help_text="For example v1.0")
    status = models.CharField(
        max_length=10, choices=ModelStatus.choices, default=ModelStatus.CANDIDATE
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    created_by = models.CharField(max_length=50, null=True, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    feature_contract_version = models.IntegerField(default=1)
    # {"mode": "fixed" | "percentile", "30_day": [t2, t3, t4, t5], ...}: a score at or above
    # t_k is at least tier k.
    tier_thresholds = models.JSONField()
    metrics = models.JSONField(default=dict, blank=True)
    training_fingerprint = models.CharField(max_length=64, null=True, blank=True)

    artifact = models.BinaryField()
    artifact_sha256 = models.CharField(max_length=64)
    notes = models.TextField(blank=True, default="")

    # The artifact is megabytes; history keeps who changed status and metadata, not copies.
    history = HistoricalRecords(excluded_fields=["artifact"])
    objects = ModelVersionManager()

    class Meta:
        db_table = "model_versions"
        base_manager_name = "objects"
        ordering = ["-created_at"]
        constraints = [
            one_of(
                "status", ModelStatus.values, name="model_versions_status_valid", nullable=False
            ),
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status=ModelStatus.ACTIVE),
                name="model_versions_one_active",
            ),
            CheckConstraint(
                condition=Q(artifact_sha256__regex=r"^[0-9a-f]{64}$"),
                name="model_versions_sha256_hex",
            ),
            CheckConstraint(
                condition=Q(feature_contract_version__gte=1),
                name="model_versions_contract_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version} ({self.status})"


def _tier_label_matches() -> CheckConstraint:
    condition = Q()
    for tier, label in TIER_LABELS.items():
        condition |= Q(risk_tier=tier, tier_label=label)
    return CheckConstraint(condition=condition, name="predictions_tier_label_matches")


class Prediction(models.Model):
    """One model's risk score for one patient and window.

    History is kept: re-scoring a patient under the same version marks the old row
    superseded (`superseded_at`) instead of replacing it. The partial unique index then
    guarantees one current prediction per (patient, window, model version), which is what
    "latest prediction" means everywhere; no MAX(timestamp) subquery is needed.
    """

    prediction_id = models.BigAutoField(primary_key=True)
    # Indexed by (patient_id, prediction_window) below; a separate FK index would be redundant.
    patient = models.ForeignKey(
        Patient,
        on_delete=models.CASCADE,
        db_column="patient_id",
        related_name="predictions",
        db_index=False,
    )
    prediction_window = models.CharField(max_length=10, choices=PredictionWindow.choices)
    prediction_timestamp = models.DateTimeField(db_default=Now())
    model_version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        to_field="version",
        db_column="model_version",
        related_name="predictions",
        db_index=False,
    )
    risk_score = models.DecimalField(max_digits=5, decimal_places=4)
    risk_tier = models.SmallIntegerField(choices=RiskTier.choices)
    tier_label = models.CharField(max_length=20)
    is_high_risk = models.GeneratedField(
        expression=ExpressionWrapper(
            Q(risk_tier__gte=RiskTier.HIGH), output_field=models.BooleanField()
        ),
        output_field=models.BooleanField(),
        db_persist=True,
    )
    is_critical_risk = models.GeneratedField(
        expression=ExpressionWrapper(
            Q(risk_tier=RiskTier.CRITICAL), output_field=models.BooleanField()
        ),
        output_field=models.BooleanField(),
        db_persist=True,
    )
    prediction_confidence = models.DecimalField(
        max_digits=5, decimal_places=4, null=True, blank=True
    )
    created_by = models.CharField(max_length=50, null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "predictions"
        ordering = ["-prediction_timestamp", "-prediction_id"]
        indexes = [
            models.Index(fields=["patient", "prediction_window"], name="idx_pred_patient_window"),
            models.Index(fields=["risk_tier"], name="idx_pred_risk_tier"),
            models.Index(fields=["prediction_timestamp"], name="idx_pred_timestamp"),
            # The current predictions of one version: the views read all of them, scoring looks
            # one patient up (with either index a lookup, whatever the planner's statistics).
            models.Index(
                fields=["model_version", "patient"],
                condition=Q(superseded_at__isnull=True),
                name="idx_pred_current_by_version",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "prediction_window", "model_version"],
                condition=Q(superseded_at__isnull=True),
                name="predictions_one_current_per_version",
            ),
            one_of(
                "prediction_window",
                PredictionWindow.values,
                name="predictions_window_valid",
                nullable=False,
            ),
            between("risk_score", 0, 1, name="predictions_risk_score_0_1", nullable=False),
            between("risk_tier", 1, 5, name="predictions_risk_tier_1_5", nullable=False),
            _tier_label_matches(),
            between("prediction_confidence", 0, 1, name="predictions_confidence_0_1"),
        ]

    def __str__(self) -> str:
        return f"{self.prediction_window} {self.risk_score} ({self.model_version_id})"


class RunStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


UNFINISHED = (RunStatus.PENDING, RunStatus.RUNNING)


class ScoringRun(models.Model):
    """One scoring of the population under a model version (predictions/scoring_runs.py).

    Planning cuts the patients needing a score into chunk rows that any worker can claim;
    the counts here are advanced in the transaction that writes each chunk and recomputed
    from the chunks when the run ends, so they only ever say what is committed. Status
    moves pending -> running -> succeeded | failed (a trigger refuses any other move), and
    a version has at most one unfinished run, so two schedulers never plan the same
    patients twice."""

    run_id = models.BigAutoField(primary_key=True)
    model_version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        to_field="version",
        db_column="model_version",
        related_name="scoring_runs",
    )
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    chunk_size = models.IntegerField(default=5000)
    patients_total = models.IntegerField(default=0)
    patients_scored = models.IntegerField(default=0)
    predictions_written = models.IntegerField(default=0)
    projections_written = models.IntegerField(default=0)
    chunks_total = models.IntegerField(default=0)
    chunks_done = models.IntegerField(default=0)
    seconds_scoring = models.FloatField(default=0)
    seconds_writing = models.FloatField(default=0, help_text="predictions and projections")
    seconds_projecting = models.FloatField(default=0, help_text="projections alone")
    error = models.TextField(blank=True, default="")
    created_by = models.CharField(max_length=50)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When workers were last asked (through the broker) to take the run's chunks: the sweep
    # asks again only when nobody holds a lease and this is old.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # Back-testing only: the run dates its predictions at this past moment (a historical
    # snapshot scored today); NULL, the normal case, dates them when they are written.
    scored_as_of = models.DateTimeField(null=True, blank=True)
    # A re-evaluation's run: once it succeeds, the candidate is compared with this version.
    compare_with = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        to_field="version",
        db_column="compare_with",
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        db_table = "scoring_runs"
        ordering = ["-created_at", "-run_id"]
        constraints = [
            one_of("status", RunStatus.values, name="scoring_runs_status_valid", nullable=False),
            CheckConstraint(condition=Q(chunk_size__gt=0), name="scoring_runs_chunk_positive"),
            CheckConstraint(
                condition=Q(patients_scored__lte=F("patients_total")),
                name="scoring_runs_scored_le_total",
            ),
            CheckConstraint(
                condition=Q(chunks_done__lte=F("chunks_total")),
                name="scoring_runs_chunks_done_le_total",
            ),
            models.UniqueConstraint(
                fields=["model_version"],
                condition=Q(status__in=UNFINISHED),
                name="scoring_runs_one_unfinished_per_version",
            ),
        ]

    def __str__(self) -> str:
        return f"Run {self.run_id} of {self.model_version_id} ({self.status})"

    @property
    def progress(self) -> float:
        return self.patients_scored / self.patients_total if self.patients_total else 0.0


class ChunkStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ScoringChunk(models.Model):
    """A slice of a run's patients that one worker at a time may hold (a lease). Every claim
    raises the fencing token; a chunk is written only by the holder of the current token
    whose lease has not expired, checked in the writing transaction itself."""

    chunk_id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(
        ScoringRun, on_delete=models.CASCADE, db_column="run_id", related_name="chunks",
        db_index=False,  # the (run, chunk_no) key serves it
    )  # fmt: skip
    chunk_no = models.IntegerField()
    patient_ids = ArrayField(models.BigIntegerField())
    status = models.CharField(
        max_length=10, choices=ChunkStatus.choices, default=ChunkStatus.PENDING
    )
    attempts = models.IntegerField(default=0)
    # A chunk given back after an error waits until then (backoff).
    available_at = models.DateTimeField(db_default=Now())
    # Who holds it while running, who wrote it once done.
    lease_holder = models.CharField(max_length=200, null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    fencing_token = models.BigIntegerField(default=0)
    patients_scored = models.IntegerField(default=0)
    predictions_written = models.IntegerField(default=0)
    projections_written = models.IntegerField(default=0)
    seconds_scoring = models.FloatField(default=0)
    seconds_writing = models.FloatField(default=0)
    seconds_projecting = models.FloatField(default=0)
    error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "scoring_chunks"
        ordering = ["run_id", "chunk_no"]
        indexes = [
            # What workers claim: the unfinished chunks of a run, in order.
            models.Index(
                fields=["run", "chunk_no"],
                condition=Q(status__in=[ChunkStatus.PENDING, ChunkStatus.RUNNING]),
                name="idx_chunks_unfinished",
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["run", "chunk_no"], name="scoring_chunks_run_no"),
            one_of("status", ChunkStatus.values, name="scoring_chunks_status_valid",
                   nullable=False),
            CheckConstraint(
                condition=~Q(status=ChunkStatus.RUNNING)
                | Q(lease_holder__isnull=False, lease_expires_at__isnull=False),
                name="scoring_chunks_running_has_lease",
            ),
            CheckConstraint(
                condition=~Q(status=ChunkStatus.DONE) | Q(finished_at__isnull=False),
                name="scoring_chunks_done_has_finish",
            ),
            CheckConstraint(condition=Q(attempts__gte=0), name="scoring_chunks_attempts_ge_0"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"Chunk {self.chunk_no} of run {self.run_id} ({self.status})"


class ModelComparison(models.Model):
    """A candidate scored against the active version (the seed's Scenario 3 comparison)."""

    comparison_id = models.BigAutoField(primary_key=True)
    baseline = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, to_field="version", related_name="+"
    )
    candidate = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, to_field="version", related_name="comparisons"
    )
    summary = models.JSONField()
    # The candidate's scoring run it was made after: one comparison per run, however often
    # the follow-up is delivered.
    scoring_run = models.OneToOneField(
        ScoringRun, on_delete=models.PROTECT, db_column="scoring_run_id", related_name="comparison",
        null=True, blank=True,
    )  # fmt: skip
    created_by = models.CharField(max_length=50)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "model_comparisons"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.candidate_id} vs {self.baseline_id}"


class PredictionOutcome(models.Model):
    """What happened inside one prediction's window, once the window has passed.

    The window of a prediction made on day d (the prediction date in the platform's time
    zone) covers admissions dated d + 1 to d + N inclusive (N = 30, 60 or 90); it has passed
    from day d + N + 1. `rule_version` names that rule so outcomes can be recomputed."""

    prediction = models.OneToOneField(
        Prediction,
        on_delete=models.CASCADE,
        primary_key=True,
        db_column="prediction_id",
        related_name="outcome",
    )
    window_start = models.DateField()
    window_end = models.DateField()
    admitted = models.BooleanField()
    first_admission_date = models.DateField(null=True, blank=True)
    rule_version = models.CharField(max_length=20)
    evaluated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "prediction_outcomes"
        constraints = [
            CheckConstraint(
                condition=Q(window_end__gte=F("window_start")),
                name="prediction_outcomes_window_ordered",
            ),
            CheckConstraint(
                condition=Q(admitted=True, first_admission_date__isnull=False)
                | Q(admitted=False, first_admission_date__isnull=True),
                name="prediction_outcomes_admitted_has_date",
            ),
            CheckConstraint(
                condition=Q(first_admission_date__isnull=True)
                | Q(
                    first_admission_date__gte=F("window_start"),
                    first_admission_date__lte=F("window_end"),
                ),
                name="prediction_outcomes_admission_in_window",
            ),
        ]

    def __str__(self) -> str:
        return f"Outcome of prediction {self.prediction_id}: admitted={self.admitted}"


class ModelMonitoringRun(models.Model):
    """One monitoring of a model version (predictions/monitoring_services.py): observed
    performance against outcomes, drift against the training data, and the warnings they
    raised. A failed run keeps its status and error."""

    run_id = models.BigAutoField(primary_key=True)
    model_version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        to_field="version",
        db_column="model_version",
        related_name="monitoring_runs",
        db_index=False,  # the (model_version, created_at) index below serves it
    )
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    results = models.JSONField(default=dict, blank=True)
    # [{"kind": "auc" | "calibration" | "feature_drift" | "score_drift", "message": ...}]
    warnings = models.JSONField(default=list, blank=True)
    created_by = models.CharField(max_length=50)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "model_monitoring_runs"
        ordering = ["-created_at", "-run_id"]
        indexes = [
            models.Index(
                fields=["model_version", "-created_at"], name="idx_monitoring_version_latest"
            )
        ]
        constraints = [
            one_of(
                "status", RunStatus.values, name="model_monitoring_runs_status_valid",
                nullable=False,
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"Monitoring {self.run_id} of {self.model_version_id} ({self.status})"


class TrainingSnapshotManager(models.Manager):
    # The content is megabytes; only training reads it, and asks for it explicitly.
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().defer("content")


class TrainingSnapshot(models.Model):
    """Labelled training data, registered once and read by every worker on every host
    (`training_snapshot_register`): the CSV as registered, gzip-compressed, so that decoding
    gives exactly the frame the file gave. `fingerprint` is the sha256 that models_train
    stores as a version's `training_fingerprint`. PostgreSQL refuses UPDATE (migration)."""

    snapshot_id = models.BigAutoField(primary_key=True)
    label = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64, unique=True)
    row_count = models.IntegerField()
    columns = ArrayField(models.TextField())
    content = models.BinaryField(help_text="gzip-compressed CSV")
    # {"30_day": share of rows admitted within 30 days, "60_day": ..., "90_day": ...}
    prevalence = models.JSONField()
    created_by = models.CharField(max_length=50)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    objects = TrainingSnapshotManager()

    class Meta:
        db_table = "training_snapshots"
        base_manager_name = "objects"
        ordering = ["-created_at", "-snapshot_id"]
        constraints = [
            CheckConstraint(
                condition=Q(fingerprint__regex=r"^[0-9a-f]{64}$"),
                name="training_snapshots_fingerprint_hex",
            ),
            CheckConstraint(condition=Q(row_count__gt=0), name="training_snapshots_rows_positive"),
        ]

    def __str__(self) -> str:
        return f"Training snapshot {self.snapshot_id} ({self.label}, {self.row_count} rows)"


from predictions.matviews import DeptRiskDistribution, OrgTierSummary  # noqa: E402

__all__ = [
    "ChunkStatus",
    "DeptRiskDistribution",
    "ModelComparison",
    "ModelMonitoringRun",
    "ModelStatus",
    "ModelVersion",
    "OrgTierSummary",
    "Prediction",
    "PredictionOutcome",
    "RunStatus",
    "ScoringChunk",
    "ScoringRun",
    "TrainingSnapshot",
]
