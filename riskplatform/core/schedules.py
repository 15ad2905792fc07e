"""Beat schedules created by migrations (django-celery-beat rows admins can then edit)."""

from django.db import migrations


def periodic_task_migration(
    *,
    name: str,
    task: str,
    description: str,
    every_seconds: int | None = None,
    crontab: dict[str, str] | None = None,
) -> migrations.RunPython:
    """A RunPython that adds (and on reverse removes) one periodic task, on an interval or a
    crontab, using the migration's historical models."""

    def add(apps, schema_editor) -> None:
        defaults = {"task": task, "description": description}
        if crontab is not None:
            crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
            defaults["crontab"], _ = crontab_model.objects.get_or_create(**crontab)
        else:
            interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
            defaults["interval"], _ = interval_model.objects.get_or_create(
                every=every_seconds, period="seconds"
            )
        apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
            name=name, defaults=defaults
        )

    def remove(apps, schema_editor) -> None:
        apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=name).delete()

    return migrations.RunPython(add, remove)
