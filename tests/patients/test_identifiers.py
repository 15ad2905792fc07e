"""external_id is printable: Python and PostgreSQL refuse the same characters, and PostgreSQL
refuses them whatever writes the row (patients/identifiers.py, issue 12)."""

import importlib
import unicodedata

import pytest
from django.apps import apps
from django.db import connection

from patients.identifiers import (
    UNPRINTABLE_CATEGORIES,
    UNPRINTABLE_RANGES,
    UNPRINTABLE_SQL_CLASS,
    unprintable_character,
    unprintable_reason,
)
from patients.models import Patient
from tests.db_roles import constraint_dropped
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

UNSTORABLE = {0, *range(0xD800, 0xE000)}  # NUL and surrogates: PostgreSQL text holds neither


def _in_ranges(code_point: int) -> bool:
    return any(low <= code_point <= high for low, high in UNPRINTABLE_RANGES)


def test_the_sql_ranges_are_exactly_the_refused_categories_of_this_python():
    disagree = [
        hex(cp)
        for cp in range(0x110000)
        if cp not in UNSTORABLE
        and (unicodedata.category(chr(cp)) in UNPRINTABLE_CATEGORIES) != _in_ranges(cp)
    ]
    assert disagree == [], f"update UNPRINTABLE_RANGES (and migrate) for {disagree[:20]}"


def test_postgresql_reads_the_class_as_python_does():
    edges = sorted(
        {cp for low, high in UNPRINTABLE_RANGES for cp in (low - 1, low, high, high + 1)}
        - UNSTORABLE
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT cp, chr(cp) ~ %s FROM unnest(%s::int[]) AS cp", [UNPRINTABLE_SQL_CLASS, edges]
        )
        answers = dict(cursor.fetchall())
    assert answers == {cp: unprintable_character(chr(cp)) is not None for cp in edges}


@pytest.mark.parametrize(
    ("value", "character"),
    [("P-1\n", "000A"), ("P-\u202e1", "202E"), ("P\x001", "0000"), ("P-\ud800", "D800"),
     ("P\u200b1", "200B"), ("P\u20281", "2028"), ("P\ufeff1", "FEFF"), ("P\x7f", "007F")],
)  # fmt: skip
def test_python_names_the_character(value, character):
    assert unprintable_reason(value) == (
        f"contains U+{character}, a control, format or bidi character"
    )


@pytest.mark.parametrize("value", ["P-0001", "Müller 7", "患者-12", "MRN 12/34", "😀"])
def test_printable_identifiers_pass(value):
    assert unprintable_reason(value) is None
    assert PatientFactory(external_id=value).external_id == value


def _raw_insert(external_id: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO patients (external_id, age, department_id, data_source) "
            "VALUES (%s, 70, (SELECT min(department_id) FROM departments), 'IMPORTED')",
            [external_id],
        )


@pytest.mark.parametrize("value", ["P-1\nX", "P-\u202e1", "P\u2028", "P\u200b", "\x1b[31m"])
def test_postgresql_refuses_them_in_a_raw_insert(assert_db_rejects, department, value):
    assert_db_rejects(lambda: _raw_insert(value), "patients_external_id_printable")
    assert_db_rejects(
        lambda: Patient.objects.filter(pk=PatientFactory().pk).update(external_id=value),
        "patients_external_id_printable",
    )
    _raw_insert("P-fine")  # the same statement with a printable identifier is accepted


@pytest.mark.django_db(transaction=True)
def test_the_migration_names_the_patients_to_fix_first(reference_data):
    migration = importlib.import_module("patients.migrations.0006_external_id_printable")
    assert migration.PATTERN == UNPRINTABLE_SQL_CLASS
    migration.refuse_unprintable_external_ids(apps, None)  # nothing to refuse
    patient = PatientFactory()
    # A database from before the constraint.
    with constraint_dropped("patients", "patients_external_id_printable") as owner:
        owner.execute(
            "UPDATE patients SET external_id = E'P\\u202e1' WHERE patient_id = %s", [patient.pk]
        )
        try:
            with pytest.raises(RuntimeError, match=str(patient.patient_uuid)):
                migration.refuse_unprintable_external_ids(apps, None)
        finally:
            owner.execute("UPDATE patients SET external_id = NULL WHERE patient_id = %s",
                          [patient.pk])  # fmt: skip
