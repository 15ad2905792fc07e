import time

from django.db import connection, transaction

from finance.matviews import RoiPositivePatient, RoiTierSummary
from predictions.matviews import DeptRiskDistribution, OrgTierSummary
from riskplatform.core.models import AuditEvent
from riskplatform.core.services import audit_event_record

# Refresh order does not matter: each view reads base tables only.
REPORTING_VIEWS = (OrgTierSummary, DeptRiskDistribution, RoiPositivePatient, RoiTierSummary)


@transaction.atomic
def views_refresh(*, changed_by: str) -> dict[str, float]:
    """Refresh the reporting views concurrently (readers are never blocked) and record
    a VIEW_REFRESH event with the seconds each took."""
    timings: dict[str, float] = {}
    for view in REPORTING_VIEWS:
        started = time.perf_counter()
        # As the views' owner (core migration 0011): REFRESH needs ownership on PostgreSQL
        # 15 and 16, and the application's role owns nothing.
        with connection.cursor() as cursor:
            cursor.execute("SELECT platform_matview_refresh(%s, true)", [view._meta.db_table])
        timings[view._meta.db_table] = round(time.perf_counter() - started, 4)
    audit_event_record(
        event_type=AuditEvent.VIEW_REFRESH,
        changed_by=changed_by,
        entity_type="VIEW",
        new_values={"seconds": timings},
    )
    return timings
