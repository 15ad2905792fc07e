from django.db import migrations

TASK_NAME = "Refresh reporting views if stale"


def add_schedule(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = interval_model.objects.get_or_create(every=60, period="seconds")
    task_model.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "finance.refresh_views_if_stale",
            "interval": every_minute,
            "description": "Safety net for coalesced refreshes a broker outage prevented.",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("finance", "0002_seed_intervention_policies"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(add_schedule, remove_schedule)]
