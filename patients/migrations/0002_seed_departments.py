from django.db import migrations

# The seed's five departments, plus the fallback for patients no condition rule assigns.
DEPARTMENTS = [
    ("Cardiology", "CARDIO", "Dr. Smith"),
    ("Oncology", "ONCOLOGY", "Dr. Johnson"),
    ("Nephrology", "NEPHRO", "Dr. Williams"),
    ("Pulmonology", "PULMO", "Dr. Brown"),
    ("Neurology", "NEURO", "Dr. Davis"),
    ("General Medicine", "GENMED", None),
]


def add_departments(apps, schema_editor):
    department = apps.get_model("patients", "Department")
    for name, code, head in DEPARTMENTS:
        department.objects.get_or_create(
            department_code=code, defaults={"department_name": name, "department_head": head}
        )


def remove_departments(apps, schema_editor):
    department = apps.get_model("patients", "Department")
    department.objects.filter(department_code__in=[code for _, code, _ in DEPARTMENTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]
    operations = [migrations.RunPython(add_departments, remove_departments)]
