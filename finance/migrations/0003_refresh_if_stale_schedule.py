from django.db import migrations

from riskplatform.core.schedules import periodic_task_migration


class Migration(migrations.Migration):
    dependencies = [
        ("finance", "0002_seed_intervention_policies"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [
        periodic_task_migration(
            name="Refresh reporting views if stale",
            task="finance.refresh_views_if_stale",
            description="Safety net for coalesced refreshes a broker outage prevented.",
            every_seconds=60,
        )
    ]
