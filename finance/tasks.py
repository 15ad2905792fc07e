from celery import shared_task
from django.db import OperationalError

from finance.services import views_refresh
from riskplatform.core.locks import one_at_a_time

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


@shared_task(
    bind=True,
    name="finance.refresh_views_debounced",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=300,
    time_limit=360,
)
def refresh_views_debounced_task(self) -> str:
    from finance.refresh import views_refresh_when_quiet

    wait = views_refresh_when_quiet(changed_by=WORKER_ACTOR)
    if wait is not None:
        self.apply_async(countdown=wait, ignore_result=True)
        return f"postponed {wait:.1f} s"
    return "refreshed"


@shared_task(name="finance.refresh_views_if_stale", soft_time_limit=300, time_limit=360)
@one_at_a_time("finance.refresh_views_if_stale")
def refresh_views_if_stale_task() -> bool:
    """Beat's safety net: catches up on refreshes a broker outage prevented."""
    from finance.refresh import views_are_stale

    if views_are_stale():
        views_refresh(changed_by="celery:refresh_views_if_stale")
        return True
    return False


DIGEST_ACTOR = "celery:send_department_digests"


@shared_task(
    name="finance.send_department_digests",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=600,
    time_limit=660,
)
@one_at_a_time("finance.send_department_digests")
def send_department_digests_task() -> dict[str, list[str]]:
    """Beat runs this on Monday mornings: each department's summary of the past week. A retry
    mails only the departments not yet mailed (department_digest_send is once per week)."""
    from django.utils import timezone

    from finance.digest import department_digests_send, digest_since

    return department_digests_send(since=digest_since(now=timezone.now()), changed_by=DIGEST_ACTOR)
