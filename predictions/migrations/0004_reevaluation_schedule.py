from django.db import migrations

from riskplatform.core.schedules import periodic_task_migration


class Migration(migrations.Migration):
    dependencies = [
        ("predictions", "0003_modelcomparison"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [
        periodic_task_migration(
            name="Re-evaluate the model (train, score and compare a candidate)",
            task="predictions.reevaluate",
            description="Mondays 03:00 UTC. Candidates never change what coordinators see "
            "until promoted (admin: Model versions, action 'Make active').",
            crontab={
                "minute": "0",
                "hour": "3",
                "day_of_week": "1",
                "day_of_month": "*",
                "month_of_year": "*",
                "timezone": "UTC",
            },
        )
    ]
