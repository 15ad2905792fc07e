from celery import shared_task
from django.db import OperationalError


@shared_task(
    name="core.purge_idempotency_keys",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=300,
    time_limit=360,
)
def purge_idempotency_keys_task() -> int:
    """Beat runs this hourly: kept API answers older than API_IDEMPOTENCY_KEY_HOURS go."""
    from riskplatform.core.idempotency import idempotency_keys_purge

    return idempotency_keys_purge()
