from django.db import migrations

from riskplatform.core.schedules import periodic_task_migration


class Migration(migrations.Migration):
    dependencies = [
        ("finance", "0003_refresh_if_stale_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [
        periodic_task_migration(
            name="Mail the weekly department risk summaries",
            task="finance.send_department_digests",
            description="Mondays 07:00 UTC. Counts and money only, to each department's "
            "contact e-mail; departments without one are skipped.",
            crontab={
                "minute": "0",
                "hour": "7",
                "day_of_week": "1",
                "day_of_month": "*",
                "month_of_year": "*",
                "timezone": "UTC",
            },
        )
    ]
