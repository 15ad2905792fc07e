"""The Celery app. Worker and beat read the same Django settings as the web process."""

import os

from celery import Celery

from riskplatform.core.broker import redis_channel_close_patch

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskplatform.settings")

# Before any broker connection: a Redis restart must not stop the worker (core/broker.py).
redis_channel_close_patch()

app = Celery("riskplatform")


@app.on_configure.connect
def _settings_check(sender, **kwargs) -> None:
    # The first read of the configuration loads Django's settings: a worker or beat started
    # without DATABASE_URL, REDIS_URL or SECRET_KEY stops here with one line naming it.
    from riskplatform.env import settings_or_exit

    settings_or_exit()


app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
