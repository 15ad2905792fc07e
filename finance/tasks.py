from celery import shared_task
from django.db import OperationalError

from finance.services import views_refresh

WORKER_ACTOR = "celery:refresh_views"


@shared_task(
    name="finance.refresh_views",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=300,
    time_limit=360,
)
def refresh_views_task() -> dict[str, float]:
    return views_refresh(changed_by=WORKER_ACTOR)
