from django.db import migrations

TASK_NAME = "Re-evaluate the model (train, score and compare a candidate)"


def add_schedule(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    weekly, _ = crontab_model.objects.get_or_create(
        minute="0", hour="3", day_of_week="1", day_of_month="*", month_of_year="*",
        timezone="UTC",
    )  # fmt: skip
    task_model.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "predictions.reevaluate",
            "crontab": weekly,
            "description": "Mondays 03:00 UTC. Candidates never change what coordinators see "
            "until promoted (admin: Model versions, action 'Make active').",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("predictions", "0003_modelcomparison"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(add_schedule, remove_schedule)]
