"""The PHI access log: every page or export that shows patient rows records who saw which
patients (by uuid) or which report, when, and from which address.

One mechanism writes it: `phi_logged` wraps a view (the workspace views directly, every
admin page through `PhiAdminMixin` in admin_mixins.py). The view says what it showed with
`phi_shown(request, ...)`; when the view answers with a page (2xx), the wrapper writes one
event. A wrapped view that forgets to call `phi_shown` still writes one (report and no
patients) rather than none. tests/core/test_phi_pages.py walks every URL and admin model.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import wraps
from uuid import UUID

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase

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
    # Each patient once, in the order shown (a patient can be listed once per window).
    uuids = list(dict.fromkeys(UUID(str(u)) for u in patient_uuids))
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


@dataclass
class _PageShown:
    action: AccessAction
    report: str
    patient_uuids: list = field(default_factory=list)


_ATTRIBUTE = "_phi_page"


def phi_shown(
    request: HttpRequest,
    *,
    patient_uuids: Iterable[UUID | str] = (),
    report: str | None = None,
    action: AccessAction | None = None,
) -> None:
    """Inside a `phi_logged` view: the patients this page shows (added up when called more
    than once) and, where the request decides it, the report's name (e.g. its department)
    and the kind of access (an admin action that exports is an export)."""
    page = getattr(request, _ATTRIBUTE, None)
    if page is None:
        raise ImproperlyConfigured("phi_shown() called outside a @phi_logged view")
    page.patient_uuids.extend(patient_uuids)
    if report is not None:
        page.report = report
    if action is not None:
        page.action = action


def phi_logged(action: AccessAction, report: str = "") -> Callable:
    """Decorate a view that may show patient data: one access event per page it answers."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
            if getattr(request, _ATTRIBUTE, None) is not None:
                return view(request, *args, **kwargs)  # nested: the outer view writes it
            page = _PageShown(action=action, report=report or view.__name__)
            setattr(request, _ATTRIBUTE, page)
            try:
                response = view(request, *args, **kwargs)
            finally:
                delattr(request, _ATTRIBUTE)
            # A redirect, refusal or error showed nothing; a page (or file) did.
            if 200 <= response.status_code < 300:
                access_record(
                    request=request, action=page.action, report=page.report,
                    patient_uuids=page.patient_uuids,
                )  # fmt: skip
            return response

        wrapper.phi_logged = True
        return wrapper

    return decorator
