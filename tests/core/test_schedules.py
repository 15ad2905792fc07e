import pytest
from django_celery_beat.models import PeriodicTask

pytestmark = pytest.mark.django_db


def test_migrations_create_the_beat_schedules():
    tasks = {t.task: t for t in PeriodicTask.objects.all()}
    assert tasks["predictions.score_pending"].interval.every == 60
    assert tasks["finance.refresh_views_if_stale"].interval.every == 60
    weekly = tasks["predictions.reevaluate"].crontab
    assert (weekly.minute, weekly.hour, weekly.day_of_week) == ("0", "3", "1")
    daily = tasks["predictions.evaluate_outcomes"].crontab
    assert (daily.minute, daily.hour, daily.day_of_week) == ("30", "2", "*")
