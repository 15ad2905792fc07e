"""Care coordinators use the Django admin for their departments' patients: their group
gets exactly these permissions (a frozen copy of ROLE_PERMISSIONS at this point), and the
coordinators who exist become staff."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

COORDINATOR = "Care coordinator"
GRANTS = {
    "patients": ["view_department", "view_patient", "change_patient", "view_patientfeatures",
                 "change_patientfeatures", "add_patientfeatures", "view_admission"],
    "predictions": ["view_prediction", "view_predictionoutcome"],
    "finance": ["view_financialprojection", "view_interventionpolicy",
                "view_roipositivepatient", "view_intervention", "add_intervention",
                "change_intervention"],
}  # fmt: skip


def coordinators_in_the_admin(apps, schema_editor):
    for app_config in apps.get_app_configs():  # as in 0006: permissions before post_migrate
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=COORDINATOR)
    wanted = Permission.objects.none()
    for app_label, codenames in GRANTS.items():
        wanted |= Permission.objects.filter(
            content_type__app_label=app_label, codename__in=codenames
        )
    group.permissions.set(wanted)
    group.user_set.update(is_staff=True)


def coordinators_out_of_the_admin(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    group = Group.objects.filter(name=COORDINATOR).first()
    if group is not None:
        group.user_set.filter(is_superuser=False).update(is_staff=False)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0012_log_hash_chains"),
        ("patients", "0005_department_code_format"),
        ("predictions", "0008_training_snapshots"),
        ("finance", "0006_interventions_and_realised_savings"),
    ]
    operations = [migrations.RunPython(coordinators_in_the_admin, coordinators_out_of_the_admin)]
