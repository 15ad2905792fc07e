"""PostgreSQL itself rejects invalid patients and features (not a form, not the ORM)."""

from decimal import Decimal

import pytest

from patients.feature_contract import BINARY_FLAGS, CONDITIONS
from patients.models import Department, Patient
from tests.factories import PatientFactory, PatientFeaturesFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("field", "value", "constraint"),
    [
        ("age", -1, "patients_age_plausible"),
        ("age", 121, "patients_age_plausible"),
        ("gender", "X", "patients_gender_valid"),
        ("race", "Martian", "patients_race_valid"),
        ("data_source", "SCRAPED", "patients_data_source_valid"),
        ("annual_cost", Decimal("-0.01"), "patients_annual_cost_non_negative"),
        ("cost_percentile", Decimal("1.001"), "patients_cost_percentile_0_1"),
        ("cost_percentile", Decimal("-0.001"), "patients_cost_percentile_0_1"),
    ],
)
def test_patient_rule(assert_db_rejects, department, field, value, constraint):
    assert_db_rejects(lambda: PatientFactory(department=department, **{field: value}), constraint)


@pytest.mark.parametrize("age", [0, 65, 120])
def test_plausible_ages_are_accepted(department, age):
    assert PatientFactory(department=department, age=age).age == age


@pytest.mark.parametrize("condition", CONDITIONS)
@pytest.mark.parametrize("code", [-1, 3])
def test_condition_codes_outside_0_1_2_are_rejected(assert_db_rejects, patient, condition, code):
    assert_db_rejects(
        lambda: PatientFeaturesFactory(patient=patient, **{condition: code}),
        f"features_{condition}_code",
    )


@pytest.mark.parametrize("flag", BINARY_FLAGS)
def test_binary_flags_must_be_0_or_1(assert_db_rejects, patient, flag):
    assert_db_rejects(
        lambda: PatientFeaturesFactory(patient=patient, **{flag: 2}), f"features_{flag}_binary"
    )


@pytest.mark.parametrize(
    "field",
    [
        "total_admissions_2008",
        "total_hospital_days_2008",
        "days_since_last_admission",
        "total_outpatient_visits_2008",
        "total_annual_cost",
        "total_inpatient_cost",
        "frailty_score",
        "complexity_index",
    ],
)
def test_feature_measures_are_non_negative(assert_db_rejects, patient, field):
    assert_db_rejects(
        lambda: PatientFeaturesFactory(patient=patient, **{field: Decimal("-1")}),
        f"features_{field}_non_negative",
    )


def test_feature_cost_percentile_in_0_1(assert_db_rejects, patient):
    assert_db_rejects(
        lambda: PatientFeaturesFactory(patient=patient, cost_percentile=Decimal("1.5")),
        "features_cost_percentile_0_1",
    )


def test_one_feature_row_per_patient(assert_db_rejects, patient):
    PatientFeaturesFactory(patient=patient)
    assert_db_rejects(
        lambda: PatientFeaturesFactory(patient=patient), "patient_features_patient_id_key"
    )


def test_patient_uuid_comes_from_postgresql(department):
    patient = PatientFactory(department=department)
    other = PatientFactory(department=department)
    patient.refresh_from_db()
    assert patient.patient_uuid is not None
    assert patient.patient_uuid != other.patient_uuid


def test_seed_departments_and_fallback_exist():
    codes = set(Department.objects.values_list("department_code", flat=True))
    assert {"CARDIO", "ONCOLOGY", "NEPHRO", "PULMO", "NEURO", "GENMED"} <= codes
    cardiology = Department.objects.get(department_code="CARDIO")
    assert (cardiology.department_name, cardiology.department_head) == ("Cardiology", "Dr. Smith")
    assert cardiology.flag_high_risk and cardiology.flag_critical_risk


def test_seed_sql_insert_gets_database_defaults(django_db_blocker):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO departments (department_name, department_code, department_head) "
            "VALUES ('Geriatrics', 'GERI', 'Dr. Lee') "
            "RETURNING flag_high_risk, flag_critical_risk, created_at IS NOT NULL"
        )
        assert cursor.fetchone() == (True, True, True)
        cursor.execute(
            "INSERT INTO patients (age, gender, department_id, annual_cost, data_source, "
            "created_by) SELECT 70, 'M', department_id, 1000, 'X_TEST', 'BATCH_LOAD' "
            "FROM departments WHERE department_code = 'GERI' "
            "RETURNING patient_uuid IS NOT NULL, is_active"
        )
        assert cursor.fetchone() == (True, True)
    assert Patient.objects.filter(department__department_code="GERI").count() == 1
