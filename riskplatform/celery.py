"""The Celery app. Worker and beat read the same Django settings as the web process."""

import os

from celery import Celery

from riskplatform.core.broker import redis_channel_close_patch

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskplatform.settings")

# Before any broker connection: a Redis restart must not stop the worker (core/broker.py).
redis_channel_close_patch()

app = Celery("riskplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
