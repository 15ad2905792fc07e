"""The Celery app. Worker and beat read the same Django settings as the web process."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskplatform.settings")

app = Celery("riskplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
