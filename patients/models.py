from django.conf import settings
from django.contrib.postgres.functions import RandomUUID
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Now
from simple_history.models import HistoricalRecords

from patients.feature_contract import BINARY_FLAGS, CONDITIONS
from patients.identifiers import UNPRINTABLE_SQL_CLASS
from riskplatform.core.constraints import at_least, between, one_of

MIN_AGE, MAX_AGE = 0, 120

# Department codes travel in URLs, file names and reports: one shape, checked by PostgreSQL
# (departments_code_format), the admin form and the URL converter (riskplatform/core/converters.py).
DEPARTMENT_CODE_PATTERN = "[A-Z0-9_]{2,20}"
DEPARTMENT_CODE_MESSAGE = (
    "A department code is 2 to 20 capital letters (A-Z), digits or underscores, e.g. CARDIO."
)


class Department(models.Model):
    department_id = models.AutoField(primary_key=True)
    department_name = models.CharField(max_length=100, unique=True)
    department_code = models.CharField(
        max_length=20,
        unique=True,
        validators=[RegexValidator(rf"\A{DEPARTMENT_CODE_PATTERN}\Z", DEPARTMENT_CODE_MESSAGE)],
        help_text="2 to 20 capital letters, digits or underscores (it appears in URLs).",
    )
    department_head = models.CharField(max_length=100, null=True, blank=True)
    contact_email = models.EmailField(max_length=100, null=True, blank=True)
    # Which tiers this department's worklist flags (some focus on critical only).
    flag_high_risk = models.BooleanField(default=True, db_default=True)
    flag_critical_risk = models.BooleanField(default=True, db_default=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    # Care coordinators assigned to this department (patients_visible_to reads this).
    coordinators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="coordinated_departments",
        db_table="department_coordinators",
    )  # fmt: skip

    history = HistoricalRecords()

    class Meta:
        db_table = "departments"
        ordering = ["department_name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(department_code__regex=f"^{DEPARTMENT_CODE_PATTERN}$"),
                name="departments_code_format",
                violation_error_message=DEPARTMENT_CODE_MESSAGE,
            )
        ]

    def __str__(self) -> str:
        return self.department_name


class DataSource(models.TextChoices):
    X_TEST = "X_TEST", "Baseline cohort (X_test)"
    NEW_PATIENT = "NEW_PATIENT", "New patient"
    IMPORTED = "IMPORTED", "Imported"


class Gender(models.TextChoices):
    MALE = "M", "Male"
    FEMALE = "F", "Female"
    OTHER = "Other", "Other"


class Race(models.TextChoices):
    WHITE = "White"
    BLACK = "Black"
    HISPANIC = "Hispanic"
    ASIAN = "Asian"
    OTHER = "Other"


EXTERNAL_ID_MESSAGE = "An external_id cannot contain control, format or bidi characters."


class Patient(models.Model):
    """A patient. `patient_uuid` is the only identifier that leaves the system."""

    patient_id = models.BigAutoField(primary_key=True)
    patient_uuid = models.UUIDField(unique=True, db_default=RandomUUID(), editable=False)
    external_id = models.CharField(max_length=50, unique=True, null=True, blank=True)

    age = models.IntegerField()
    gender = models.CharField(max_length=10, choices=Gender.choices, null=True, blank=True)
    race = models.CharField(max_length=50, choices=Race.choices, null=True, blank=True)

    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, db_column="department_id", related_name="patients"
    )
    primary_provider_id = models.IntegerField(null=True, blank=True)

    data_source = models.CharField(max_length=20, choices=DataSource.choices)
    is_active = models.BooleanField(default=True, db_default=True)

    annual_cost = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    cost_percentile = models.DecimalField(max_digits=5, decimal_places=3, null=True, blank=True)

    created_at = models.DateTimeField(db_default=Now(), editable=False)
    created_by = models.CharField(max_length=50, null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.CharField(max_length=50, null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        db_table = "patients"
        ordering = ["patient_id"]
        indexes = [
            models.Index(fields=["data_source"], name="idx_patients_data_source"),
            models.Index(fields=["created_at"], name="idx_patients_created_at"),
            models.Index(fields=["annual_cost"], name="idx_patients_annual_cost"),
        ]
        constraints = [
            between("age", MIN_AGE, MAX_AGE, name="patients_age_plausible", nullable=False),
            one_of("gender", Gender.values, name="patients_gender_valid"),
            one_of("race", Race.values, name="patients_race_valid"),
            one_of(
                "data_source", DataSource.values, name="patients_data_source_valid", nullable=False
            ),
            at_least("annual_cost", 0, name="patients_annual_cost_non_negative"),
            between("cost_percentile", 0, 1, name="patients_cost_percentile_0_1"),
            # patients/identifiers.py: no control, format or bidi character, whichever way
            # the row arrives (API, importer, admin, or SQL of its own).
            models.CheckConstraint(
                condition=~models.Q(external_id__regex=UNPRINTABLE_SQL_CLASS),
                name="patients_external_id_printable",
                violation_error_message=EXTERNAL_ID_MESSAGE,
            ),
        ]

    def __str__(self) -> str:
        return str(self.patient_uuid)


def _condition_field() -> models.SmallIntegerField:
    return models.SmallIntegerField(help_text="0 = missing, 1 = no, 2 = yes")


def _binary_field() -> models.SmallIntegerField:
    return models.SmallIntegerField(help_text="0 or 1")


def _measure(max_digits: int = 8, decimal_places: int = 2) -> models.DecimalField:
    return models.DecimalField(max_digits=max_digits, decimal_places=decimal_places)


class PatientFeatures(models.Model):
    """The clinical feature vector of one patient (feature contract v1 with `patients`)."""

    feature_id = models.BigAutoField(primary_key=True)
    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, db_column="patient_id", related_name="features"
    )

    is_elderly = models.BooleanField()

    has_alzheimers = _condition_field()
    has_chf = _condition_field()
    has_ckd = _condition_field()
    has_cancer = _condition_field()
    has_copd = _condition_field()
    has_depression = _condition_field()
    has_diabetes = _condition_field()
    has_ischemic_heart = _condition_field()
    has_ra_oa = _condition_field()
    has_stroke = _condition_field()

    total_admissions_2008 = _measure()
    total_hospital_days_2008 = _measure()
    days_since_last_admission = _measure()
    recent_admission = _binary_field()
    total_outpatient_visits_2008 = _measure()
    high_outpatient_user = _binary_field()

    total_annual_cost = _measure(10, 2)
    cost_percentile = _measure(5, 3)
    high_cost = _binary_field()
    total_inpatient_cost = _measure(10, 2)

    frailty_score = _measure(8, 4)
    complexity_index = _measure(8, 4)

    feature_version = models.IntegerField(default=1, db_default=1)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        db_table = "patient_features"
        verbose_name = "patient features"
        verbose_name_plural = "patient features"
        indexes = [models.Index(fields=["complexity_index"], name="idx_features_complexity")]
        constraints = [
            *(one_of(c, (0, 1, 2), name=f"features_{c}_code", nullable=False) for c in CONDITIONS),
            *(one_of(f, (0, 1), name=f"features_{f}_binary", nullable=False) for f in BINARY_FLAGS),
            *(
                at_least(f, 0, name=f"features_{f}_non_negative", nullable=False)
                for f in (
                    "total_admissions_2008",
                    "total_hospital_days_2008",
                    "days_since_last_admission",
                    "total_outpatient_visits_2008",
                    "total_annual_cost",
                    "total_inpatient_cost",
                    "frailty_score",
                    "complexity_index",
                )
            ),
            between("cost_percentile", 0, 1, name="features_cost_percentile_0_1", nullable=False),
            at_least("feature_version", 1, name="features_version_positive", nullable=False),
        ]

    def __str__(self) -> str:
        return f"Features of {self.patient}"


class AdmissionSource(models.TextChoices):
    IMPORTED = "IMPORTED", "Imported file"
    API = "API", "JSON API"
    SIMULATED = "SIMULATED", "Demo simulation"


class Admission(models.Model):
    """One inpatient admission: the outcome the predictions are judged against.

    (patient, admission_date) is the natural key, so a re-imported file or a repeated API
    call changes nothing (or updates the stay's cost and discharge date)."""

    admission_id = models.BigAutoField(primary_key=True)
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, db_column="patient_id", related_name="admissions"
    )
    admission_date = models.DateField()
    discharge_date = models.DateField(null=True, blank=True)
    stay_cost = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    source = models.CharField(max_length=20, choices=AdmissionSource.choices)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    created_by = models.CharField(max_length=50)

    history = HistoricalRecords()

    class Meta:
        db_table = "admissions"
        ordering = ["-admission_date", "-admission_id"]
        indexes = [models.Index(fields=["admission_date"], name="idx_admissions_date")]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "admission_date"], name="admissions_one_per_patient_day"
            ),
            models.CheckConstraint(
                condition=models.Q(discharge_date__gte=models.F("admission_date"))
                | models.Q(discharge_date__isnull=True),
                name="admissions_discharge_after_admission",
            ),
            at_least("stay_cost", 0, name="admissions_stay_cost_non_negative"),
            one_of(
                "source", AdmissionSource.values, name="admissions_source_valid", nullable=False
            ),
        ]

    def __str__(self) -> str:
        return f"Admission of {self.patient} on {self.admission_date}"
