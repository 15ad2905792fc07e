"""The PHI access log: every page or export that shows patient rows records who saw which
patients (by uuid) or which report, when, and from which address."""

from collections.abc import Iterable
from uuid import UUID

from django.http import HttpRequest

from riskplatform.core.models import AccessAction, AccessEvent

# Beyond this many patients an event names the report and the count, not every uuid (an
# organisation-wide export is identified by its report and filters, which the path holds).
MAX_UUIDS_PER_EVENT = 5000


def client_address(request: HttpRequest) -> str | None:
    # REMOTE_ADDR is the proxy's address behind a TLS proxy; the proxy's own log ties the two.
    return request.META.get("REMOTE_ADDR") or None


def access_record(
    *,
    request: HttpRequest,
    action: AccessAction,
    report: str = "",
    patient_uuids: Iterable[UUID | str] = (),
) -> AccessEvent:
    uuids = [UUID(str(u)) for u in patient_uuids]
    user = request.user
    return AccessEvent.objects.create(
        user_id=user.pk if user.is_authenticated else None,
        username=user.get_username() if user.is_authenticated else "anonymous",
        action=action,
        report=report[:200],
        patient_uuids=uuids[:MAX_UUIDS_PER_EVENT],
        patient_count=len(uuids),
        path=request.get_full_path()[:500],
        ip_address=client_address(request),
    )
