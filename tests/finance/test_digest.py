"""The weekly department digest over a hand-built Cardiology population: the figures, the
link, no patient detail in the mail, departments without an address skipped, once a week.

Cardiology, active version v1.0, `since` = 7 days ago ("d" = days from now):

    patient age  window  predictions (oldest first)                         current  new?
    P1      83   30_day  T3 at -10d superseded -2d; T5 now                  T5       yes
                 60_day  T4 now                                             T4
                 90_day  T5 at -10d                                         T5       no (before)
    P2      87   30_day  T5 at -10d                                         T5       no (before)
    P3      91   30_day  T5 at -10d superseded -1d; T5 now                  T5       no (was T5)
    P4      94   30_day  T2 now; candidate v1.1 T5 now                      T2
    P7      79   30_day  T5 at -12d superseded -9d; T3 at -9d superseded    T5       yes
                         -1d; T5 now                                        (T3 at since)
    P5      96   30_day  T5 now, inactive patient                           not counted
    N1      88   30_day  T5 now, in Nephrology                              not counted
"""

import re
from datetime import timedelta
from smtplib import SMTPException

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from finance.digest import (
    DigestOutcome,
    department_digest,
    department_digest_send,
    department_digests_send,
    digest_since,
)
from finance.models import FinancialProjection, InterventionPolicy
from finance.tasks import DIGEST_ACTOR, send_department_digests_task
from patients.models import Department, Patient
from riskplatform.core.models import AuditEvent, AuditLog
from tests.factories import ModelVersionFactory, PatientFactory
from tests.scenarios import _predict

pytestmark = pytest.mark.django_db

CARDIO_EMAIL = "cardiology-lead@hospital.example"
BASE_URL = "https://risk.hospital.example"
# Scores in each tier under the factories' fixed thresholds (.10 .25 .50 .75).
SCORE = {2: ".15", 3: ".30", 4: ".60", 5: ".90"}


@pytest.fixture
def cardio(settings):
    settings.PLATFORM_BASE_URL = BASE_URL
    department = Department.objects.get(department_code="CARDIO")
    department.contact_email = CARDIO_EMAIL
    department.save()
    active = ModelVersionFactory(version="v1.0", status="active")
    candidate = ModelVersionFactory(version="v1.1", status="candidate")
    policies = {(p.prediction_window, p.risk_tier): p for p in InterventionPolicy.objects.all()}
    now = timezone.now()

    def day(offset: int):
        return now + timedelta(days=offset)

    def patient(age: int, department=department, **extra):
        return PatientFactory(department=department, age=age, **extra)

    def predict(who, window: str, tier: int, version=active, made=0, superseded=None):
        extra = {"prediction_timestamp": day(made)}
        if superseded is not None:
            extra["superseded_at"] = day(superseded)
        return _predict(who, version, window, SCORE[tier], policies, **extra)

    p1, p2, p3, p4, p7 = (patient(age) for age in (83, 87, 91, 94, 79))
    predict(p1, "30_day", 3, made=-10, superseded=-2)
    predict(p1, "30_day", 5)
    predict(p1, "60_day", 4)
    predict(p1, "90_day", 5, made=-10)
    predict(p2, "30_day", 5, made=-10)
    predict(p3, "30_day", 5, made=-10, superseded=-1)
    predict(p3, "30_day", 5)
    predict(p4, "30_day", 2)
    predict(p4, "30_day", 5, version=candidate)
    predict(p7, "30_day", 5, made=-12, superseded=-9)
    predict(p7, "30_day", 3, made=-9, superseded=-1)
    predict(p7, "30_day", 5)
    predict(patient(96, is_active=False), "30_day", 5)
    predict(patient(88, Department.objects.get(department_code="NEPHRO")), "30_day", 5)
    return department


def _since():
    return timezone.now() - timedelta(days=7)


def _expected_savings(department: Department) -> dict[str, object]:
    """Per window, the savings of the department's current projections summed in Python."""
    totals: dict[str, object] = {}
    for fp in FinancialProjection.objects.filter(
        patient__department=department,
        patient__is_active=True,
        prediction__superseded_at__isnull=True,
        prediction__model_version__status="active",
    ):
        totals[fp.projection_window] = totals.get(fp.projection_window, 0) + fp.expected_savings
    return totals


def test_digest_counts_tiers_new_criticals_and_savings(cardio, django_assert_num_queries):
    with django_assert_num_queries(2):
        digest = department_digest(department=cardio, since=_since())
    windows = {w.window: w for w in digest.windows}
    assert windows["30_day"].tier_counts == {1: 0, 2: 1, 3: 0, 4: 0, 5: 4}
    assert windows["60_day"].tier_counts == {1: 0, 2: 0, 3: 0, 4: 1, 5: 0}
    assert windows["90_day"].tier_counts == {1: 0, 2: 0, 3: 0, 4: 0, 5: 1}
    assert {w: windows[w].new_critical for w in windows} == {
        "30_day": 2,
        "60_day": 0,
        "90_day": 0,
    }
    savings = _expected_savings(cardio)
    assert {w: windows[w].expected_savings for w in windows} == savings
    assert all(value > 0 for value in savings.values())
    assert digest.report_url == BASE_URL + reverse("report-department", args=["CARDIO"])


def _tokens(body: str) -> set[str]:
    return {token.strip(".,:;()") for token in re.split(r"\s+", body)}


def test_the_mail_has_the_figures_and_the_link_and_no_patient_detail(cardio, mailoutbox):
    outcome = department_digest_send(department_id=cardio.pk, since=_since(), changed_by="test")

    assert outcome is DigestOutcome.SENT
    [message] = mailoutbox
    assert message.to == [CARDIO_EMAIL]
    assert message.subject == "Weekly risk summary: Cardiology"
    body = message.body
    savings = _expected_savings(cardio)
    rows = {line.split()[0]: line.split() for line in body.splitlines() if " days " in line}
    # Window, Normal, Low, Moderate, High, Critical, New critical, Expected savings.
    assert rows["30"][2:] == ["0", "1", "0", "0", "4", "2", f"{savings['30_day']:,.2f}"]
    assert rows["60"][2:] == ["0", "0", "0", "1", "0", "0", f"{savings['60_day']:,.2f}"]
    assert rows["90"][2:] == ["0", "0", "0", "0", "1", "0", f"{savings['90_day']:,.2f}"]
    assert f"{BASE_URL}/reports/departments/CARDIO/" in body

    tokens = _tokens(body)
    patients = list(Patient.objects.all())
    assert len(patients) == 7
    for patient in patients:
        assert str(patient.patient_uuid) not in body
        assert str(patient.patient_uuid.hex) not in body
        assert patient.external_id not in body
        assert str(patient.age) not in tokens

    event = AuditLog.objects.get(event_type=AuditEvent.DIGEST_SENT)
    assert (event.entity_type, event.entity_id, event.changed_by) == (
        "DEPARTMENT",
        cardio.pk,
        "test",
    )
    assert event.new_values["to"] == CARDIO_EMAIL
    assert event.new_values["new_critical"] == {"30_day": 2, "60_day": 0, "90_day": 0}


def test_departments_without_an_address_are_skipped_and_logged(cardio, mailoutbox, caplog):
    outcomes = department_digests_send(since=_since(), changed_by="test")

    others = set(Department.objects.exclude(pk=cardio.pk).values_list("department_code", flat=True))
    assert outcomes == {"sent": ["CARDIO"], "no contact e-mail": sorted(others)}
    assert [m.to for m in mailoutbox] == [[CARDIO_EMAIL]]
    assert AuditLog.objects.filter(event_type=AuditEvent.DIGEST_SENT).count() == 1
    assert "Digest skipped: department NEPHRO has no contact e-mail" in caplog.text


def test_a_department_gets_one_digest_per_week_however_often_it_runs(cardio, mailoutbox):
    since = digest_since(now=timezone.now())
    first = department_digest_send(department_id=cardio.pk, since=since, changed_by="test")
    again = department_digest_send(department_id=cardio.pk, since=since, changed_by="test")
    next_week = department_digest_send(
        department_id=cardio.pk, since=since + timedelta(days=7), changed_by="test"
    )
    assert (first, again, next_week) == (
        DigestOutcome.SENT,
        DigestOutcome.ALREADY_SENT,
        DigestOutcome.SENT,
    )
    assert len(mailoutbox) == 2


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise SMTPException("550 relay refused")


def test_a_refused_mail_records_nothing_and_is_sent_on_the_next_run(cardio, settings, mailoutbox):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    since = _since()
    assert department_digests_send(since=since, changed_by="test")["failed"] == ["CARDIO"]
    assert not AuditLog.objects.filter(event_type=AuditEvent.DIGEST_SENT).exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert department_digests_send(since=since, changed_by="test")["sent"] == ["CARDIO"]
    assert len(mailoutbox) == 1


def test_the_weekly_task_covers_the_seven_days_before_today(cardio, mailoutbox):
    outcomes = send_department_digests_task()

    assert outcomes["sent"] == ["CARDIO"]
    event = AuditLog.objects.get(event_type=AuditEvent.DIGEST_SENT)
    assert event.changed_by == DIGEST_ACTOR
    today = timezone.now().date()
    assert event.new_values["since"] == f"{today - timedelta(days=7)}T00:00:00+00:00"
    assert f"Week since {today - timedelta(days=7)} 00:00 UTC" in mailoutbox[0].body


def test_since_is_midnight_utc_seven_days_back():
    now = timezone.now().replace(year=2026, month=3, day=16, hour=7, minute=0, second=4)
    assert digest_since(now=now).isoformat() == "2026-03-09T00:00:00+00:00"


def test_migrations_schedule_the_digest_on_monday_mornings():
    task = PeriodicTask.objects.get(task="finance.send_department_digests")
    crontab = task.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_week) == ("0", "7", "1")
    assert str(crontab.timezone) == "UTC"
    assert task.enabled
