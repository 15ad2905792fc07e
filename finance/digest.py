"""The weekly department digest: each department's contact address gets its tier counts, how
many patients became critical during the week and the expected savings, with a link to the
department report.

Counts and money only. Mail leaves the platform's access control and its access log, so no
patient identifier (uuid, hospital number), name or age is ever put in a message; whoever
follows the link logs in and is logged as usual.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.urls import reverse

from finance.selectors import department_roi_by_tier
from patients.models import Department
from predictions.models import Prediction
from predictions.selectors import current_prediction_q
from riskplatform.core.models import AuditEvent, AuditLog
from riskplatform.core.services import audit_event_record
from riskplatform.core.windows import DAYS_IN_WINDOW, RiskTier

log = logging.getLogger(__name__)

DIGEST_DAYS = 7


@dataclass(frozen=True)
class WindowDigest:
    window: str
    days: int
    tier_counts: dict[int, int]  # risk tier -> patients with a current prediction in it
    new_critical: int
    expected_savings: Decimal

    @property
    def patient_count(self) -> int:
        return sum(self.tier_counts.values())


@dataclass(frozen=True)
class DepartmentDigest:
    department_code: str
    department_name: str
    since: datetime
    windows: list[WindowDigest]
    report_url: str


def digest_since(*, now: datetime) -> datetime:
    """The start of the week a digest sent at `now` covers: midnight UTC, DIGEST_DAYS ago.
    Whole days, so a retry or a re-run on the same day covers the same week."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=DIGEST_DAYS)


def _new_critical_counts(*, department_id: int, since: datetime) -> dict[str, int]:
    """Per window: patients whose current prediction is critical, made since `since`, and
    whose prediction in force at `since` (same window, same model version) was not critical
    or did not exist. One query."""
    # A prediction made before `since` was in force then if it was superseded after `since`
    # (one not superseded at all cannot exist beside a current one made since then).
    critical_at_since = Prediction.objects.filter(
        patient_id=OuterRef("patient_id"),
        prediction_window=OuterRef("prediction_window"),
        model_version_id=OuterRef("model_version_id"),
        risk_tier=RiskTier.CRITICAL,
        prediction_timestamp__lt=since,
        superseded_at__gte=since,
    )
    rows = (
        Prediction.objects.filter(
            current_prediction_q(),
            patient__department_id=department_id,
            risk_tier=RiskTier.CRITICAL,
            prediction_timestamp__gte=since,
        )
        .exclude(Exists(critical_at_since))
        .values("prediction_window")
        .annotate(patients=Count("pk"))
        .order_by()
    )
    return {row["prediction_window"]: row["patients"] for row in rows}


def department_report_url(*, department_code: str) -> str:
    base = settings.PLATFORM_BASE_URL.rstrip("/")
    return base + reverse("report-department", args=[department_code])


def department_digest(*, department: Department, since: datetime) -> DepartmentDigest:
    """The digest's figures from the department's current predictions (active version, live,
    not from a reporting view). Two queries."""
    new_critical = _new_critical_counts(department_id=department.pk, since=since)
    windows = [
        WindowDigest(
            window=roi.window,
            days=DAYS_IN_WINDOW[roi.window],
            tier_counts={line.risk_tier: line.patient_count for line in roi.lines},
            new_critical=new_critical.get(roi.window, 0),
            expected_savings=roi.total.expected_savings,
        )
        for roi in department_roi_by_tier(department=department)
    ]
    return DepartmentDigest(
        department_code=department.department_code,
        department_name=department.department_name,
        since=since,
        windows=windows,
        report_url=department_report_url(department_code=department.department_code),
    )


def digest_subject(*, digest: DepartmentDigest) -> str:
    return f"Weekly risk summary: {digest.department_name}"


def digest_text(*, digest: DepartmentDigest) -> str:
    tiers = list(RiskTier)
    header = ["Window", *(tier.label for tier in tiers), "New critical", "Expected savings"]
    rows = [
        [
            f"{window.days} days",
            *(str(window.tier_counts.get(tier.value, 0)) for tier in tiers),
            str(window.new_critical),
            f"{window.expected_savings:,.2f}",
        ]
        for window in digest.windows
    ]
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]

    def table_line(cells: list[str]) -> str:
        first, *rest = cells
        right = [cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True)]
        return "  ".join([first.ljust(widths[0]), *right])

    since = digest.since.astimezone(UTC)
    return "\n".join(
        [
            f"Weekly risk summary: {digest.department_name} ({digest.department_code})",
            f"Week since {since:%Y-%m-%d %H:%M} UTC.",
            "",
            "Patients per risk tier, from each patient's current prediction:",
            "",
            table_line(header),
            *(table_line(row) for row in rows),
            "",
            "New critical: patients critical now whose prediction in force at the start of the",
            "week was not critical (or who had none). Expected savings: the projected savings",
            "of treating every patient in the window, summed over all tiers.",
            "",
            f"Department report (login required): {digest.report_url}",
            "",
            "This message holds counts and money only; patient details stay in the platform.",
        ]
    )


class DigestOutcome(StrEnum):
    SENT = "sent"
    NO_CONTACT = "no contact e-mail"
    ALREADY_SENT = "already sent"
    FAILED = "failed"


def _digest_already_sent(*, department_id: int, since_iso: str) -> bool:
    return AuditLog.objects.filter(
        event_type=AuditEvent.DIGEST_SENT,
        entity_type="DEPARTMENT",
        entity_id=department_id,
        new_values__since=since_iso,
    ).exists()


def department_digest_send(
    *, department_id: int, since: datetime, changed_by: str
) -> DigestOutcome:
    """Mail one department its digest for the week since `since` and record DIGEST_SENT.

    At most once per department and `since`: a retried or repeated run answers ALREADY_SENT.
    The event is written before the mail goes out, in the same transaction, so a mail server
    that refuses the message leaves no event (and the next run tries again)."""
    since_iso = since.astimezone(UTC).isoformat()
    with transaction.atomic():
        # The row lock serialises two runs at once (a retry beside a manual run).
        department = Department.objects.select_for_update().get(pk=department_id)
        if not department.contact_email:
            log.info(
                "Digest skipped: department %s has no contact e-mail", department.department_code
            )
            return DigestOutcome.NO_CONTACT
        if _digest_already_sent(department_id=department.pk, since_iso=since_iso):
            return DigestOutcome.ALREADY_SENT
        digest = department_digest(department=department, since=since)
        audit_event_record(
            event_type=AuditEvent.DIGEST_SENT,
            changed_by=changed_by,
            entity_type="DEPARTMENT",
            entity_id=department.pk,
            new_values={
                "since": since_iso,
                "to": department.contact_email,
                "new_critical": {w.window: w.new_critical for w in digest.windows},
            },
        )
        EmailMessage(
            subject=digest_subject(digest=digest),
            body=digest_text(digest=digest),
            to=[department.contact_email],
        ).send()
    return DigestOutcome.SENT


def department_digests_send(*, since: datetime, changed_by: str) -> dict[str, list[str]]:
    """Every department's digest; outcome -> department codes. A mail server refusing one
    department's message is logged and the others are still sent."""
    outcomes: dict[str, list[str]] = defaultdict(list)
    departments = Department.objects.order_by("department_code").values_list(
        "pk", "department_code"
    )
    for department_id, code in departments:
        try:
            outcome = department_digest_send(
                department_id=department_id, since=since, changed_by=changed_by
            )
        except OSError:  # smtplib's errors included
            log.exception("Digest for department %s not sent", code)
            outcome = DigestOutcome.FAILED
        outcomes[outcome.value].append(code)
    return dict(outcomes)
