from django.contrib.auth.management import create_permissions
from django.db import migrations

from riskplatform.core.roles import ROLE_PERMISSIONS


def groups_create(apps, schema_editor):
    # Permissions are normally made after all migrations (post_migrate); make them now so a
    # fresh database gets complete groups in one `migrate`.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, grants in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=str(role))
        for app_label, codenames in grants.items():
            perms = Permission.objects.filter(content_type__app_label=app_label)
            if codenames != ["*"]:
                perms = perms.filter(codename__in=codenames)
            group.permissions.add(*perms)


def groups_delete(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(
        name__in=[str(role) for role in ROLE_PERMISSIONS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0005_access_log_append_only"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("patients", "0003_department_coordinators"),
        ("predictions", "0004_reevaluation_schedule"),
        ("finance", "0003_refresh_if_stale_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(groups_create, groups_delete)]
