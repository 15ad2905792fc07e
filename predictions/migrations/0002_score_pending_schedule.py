from django.db import migrations

from riskplatform.core.schedules import periodic_task_migration


class Migration(migrations.Migration):
    dependencies = [
        ("predictions", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [
        periodic_task_migration(
            name="Score patients awaiting scoring",
            task="predictions.score_pending",
            description="The outbox sweep: scores patients saved while scoring was impossible.",
            every_seconds=60,
        )
    ]
