"""What the page walks share (tests/core/test_phi_pages.py, tests/core/test_analyst_dates.py):
a demo-like hospital (the demo's generated cohort with its simulated quarter played, so that
every kind of patient record exists: superseded scores, interventions, admissions, outcomes,
realised savings, monitoring, changed records) and every URL pattern of the project."""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.urls import URLPattern, URLResolver, get_resolver

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PASSWORD = "a-long-test-passphrase-0042"


@dataclass
class Hospital:
    patient: object  # a CARDIO patient with an intervention (edited), features changed
    intervention: object
    patients: list  # the patients whose pages the walks open
    patient_uuids: set[str] = field(default_factory=set)  # every patient's
    external_ids: set[str] = field(default_factory=set)
    coordinator: User | None = None  # of CARDIO
    analyst: User | None = None
    root: User | None = None  # a superuser, for the admin


def hospital_build(*, small_cohort, tmp_path) -> Hospital:
    from finance.interventions import intervention_update
    from finance.models import Intervention
    from finance.services import views_refresh
    from patients.models import Patient
    from patients.services import patient_features_update
    from predictions.comparison import model_versions_compare
    from predictions.models import ModelComparison
    from riskplatform.core.models import AccessAction, AccessEvent
    from riskplatform.core.roles import Role
    from tests.factories import user_with_role
    from tests.scenarios import quarter_played

    files, trained = small_cohort
    quarter_played(files=files, trained=trained, out_dir=tmp_path, seed=11)
    worked = list(
        Intervention.objects.filter(patient__department__department_code="CARDIO")
        .select_related("patient")
        .order_by(F("patient__admissions__admission_date").desc(nulls_last=True), "intervention_id")
    )
    assert worked, "the played quarter should work some CARDIO patients"
    intervention = worked[0]
    patient = intervention.patient
    # An edited intervention (updated_at, a history row) and a patient's changed features.
    intervention_update(
        intervention=intervention, intervention_type=intervention.intervention_type,
        status=intervention.status, intervention_date=intervention.intervention_date,
        cost_spent=(intervention.cost_spent or Decimal(0)) + 1, notes="called back",
        recorded_by="alice",
    )  # fmt: skip
    features = patient.features
    patient_features_update(
        patient=patient, features={"has_chf": 1 if features.has_chf == 2 else 2},
        changed_by="nurse",
    )  # fmt: skip
    ModelComparison.objects.create(
        baseline_id="v1.0", candidate_id="v1.0", created_by="test",
        summary=model_versions_compare(baseline="v1.0", candidate="v1.0"),
    )  # fmt: skip
    AccessEvent.objects.create(
        username="someone", action=AccessAction.PATIENT_VIEW,
        patient_uuids=[patient.patient_uuid], patient_count=1,
    )  # fmt: skip
    views_refresh(changed_by="test")
    others = [i.patient for i in Intervention.objects.select_related("patient")[:8]]
    identities = list(Patient.objects.values_list("patient_uuid", "external_id"))
    root = User.objects.create_superuser("root", password=PASSWORD)
    return Hospital(
        patient=patient,
        intervention=Intervention.objects.get(pk=intervention.pk),
        patients=list({p.pk: p for p in [patient, *others]}.values()),
        patient_uuids={str(u) for u, _ in identities},
        external_ids={e for _, e in identities if e},
        coordinator=user_with_role("cardio", Role.COORDINATOR, ("CARDIO",)),
        analyst=user_with_role("ana", Role.ANALYST),
        root=root,
    )


def hospital_for_module(*, django_db_blocker, small_cohort, tmp_path):
    """Build the hospital once for a test module, in a transaction rolled back after the
    module's last test; each test runs in a savepoint inside it (pytest-django's
    `django_db`), so it sees the hospital and leaves it as it found it."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield hospital_build(small_cohort=small_cohort, tmp_path=tmp_path)
        transaction.set_rollback(True)


def patients_on(body: str, hospital: Hospital) -> set[str]:
    """The patient uuids a page or file shows."""
    return set(UUID_RE.findall(body)) & hospital.patient_uuids


@dataclass(frozen=True)
class Page:
    route: str  # the full route, e.g. "worklists/<dept:department_code>/<str:window>/"
    name: str  # "namespace:name", or "" for an unnamed pattern
    params: tuple[str, ...]

    @property
    def key(self) -> str:
        return self.name or self.route


def url_pages(patterns=None, prefix: str = "", namespace: str = "") -> list[Page]:
    """Every URL pattern of the project's URLconf, resolved through every include."""
    pages = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(n for n in (namespace, pattern.namespace) if n)
            pages += url_pages(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name or ""
            converters = getattr(pattern.pattern, "converters", {})
            regex_groups = tuple(pattern.pattern.regex.groupindex)
            pages.append(
                Page(
                    route=prefix + str(pattern.pattern),
                    name=f"{namespace}:{name}" if namespace and name else name,
                    params=tuple(converters) or regex_groups,
                )
            )
    return pages
