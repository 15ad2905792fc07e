"""external_id holds no control, format or bidi character (patients/identifiers.py): checked
by PostgreSQL from here on, whatever writes the row. A database with such an external_id is
refused with the patients to fix (by patient_uuid), rather than with a bare constraint error.

The pattern is frozen here: a later Unicode version's additions come in a migration of their
own."""

from django.db import migrations, models

PATTERN = (
    "[\\u0001-\\u001f\\u007f-\\u009f\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890-\\u0891"
    "\\u08e2\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff"
    "\\ufff9-\\ufffb\\U000110bd\\U000110cd\\U00013430-\\U00013438\\U0001bca0-\\U0001bca3"
    "\\U0001d173-\\U0001d17a\\U000e0001\\U000e0020-\\U000e007f]"
)
SHOWN = 20


def refuse_unprintable_external_ids(apps, schema_editor):
    patient = apps.get_model("patients", "Patient")
    bad = patient.objects.filter(external_id__regex=PATTERN)
    count = bad.count()
    if count:
        uuids = ", ".join(str(u) for u in bad.values_list("patient_uuid", flat=True)[:SHOWN])
        raise RuntimeError(
            f"{count} patient(s) have an external_id with a control, format or bidi "
            f"character; correct them first (admin -> Patients): {uuids}"
            + (" …" if count > SHOWN else "")
        )


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0005_department_code_format"),
    ]

    operations = [
        migrations.RunPython(refuse_unprintable_external_ids, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="patient",
            constraint=models.CheckConstraint(
                condition=models.Q(("external_id__regex", PATTERN), _negated=True),
                name="patients_external_id_printable",
                violation_error_message=(
                    "An external_id cannot contain control, format or bidi characters."
                ),
            ),
        ),
    ]
