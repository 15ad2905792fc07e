"""Department codes match ^[A-Z0-9_]{2,20}$ (they travel in URLs and file names): checked by
PostgreSQL from here on. The seeded codes (CARDIO, ONCOLOGY, NEPHRO, PULMO, NEURO, GENMED)
conform; a database with a code that does not is refused with the codes to fix, rather than
with PostgreSQL's bare constraint error."""

import django.core.validators
from django.conf import settings
from django.db import migrations, models


def refuse_nonconforming_codes(apps, schema_editor):
    department = apps.get_model("patients", "Department")
    bad = sorted(
        department.objects.exclude(department_code__regex=r"^[A-Z0-9_]{2,20}$").values_list(
            "department_code", flat=True
        )
    )
    if bad:
        raise RuntimeError(
            "Department codes must match ^[A-Z0-9_]{2,20}$; rename these first (admin -> "
            f"Departments): {', '.join(repr(code) for code in bad)}"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0004_admissions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="department",
            name="department_code",
            field=models.CharField(
                help_text="2 to 20 capital letters, digits or underscores (it appears in URLs).",
                max_length=20,
                unique=True,
                validators=[
                    django.core.validators.RegexValidator(
                        "\\A[A-Z0-9_]{2,20}\\Z",
                        "A department code is 2 to 20 capital letters (A-Z), digits or underscores, e.g. CARDIO.",
                    )
                ],
            ),
        ),
        migrations.AlterField(
            model_name="historicaldepartment",
            name="department_code",
            field=models.CharField(
                db_index=True,
                help_text="2 to 20 capital letters, digits or underscores (it appears in URLs).",
                max_length=20,
                validators=[
                    django.core.validators.RegexValidator(
                        "\\A[A-Z0-9_]{2,20}\\Z",
                        "A department code is 2 to 20 capital letters (A-Z), digits or underscores, e.g. CARDIO.",
                    )
                ],
            ),
        ),
        migrations.RunPython(refuse_nonconforming_codes, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="department",
            constraint=models.CheckConstraint(
                condition=models.Q(("department_code__regex", "^[A-Z0-9_]{2,20}$")),
                name="departments_code_format",
                violation_error_message="A department code is 2 to 20 capital letters (A-Z), digits or underscores, e.g. CARDIO.",
            ),
        ),
    ]
