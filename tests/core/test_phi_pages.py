"""Every page that shows patient data writes an access event naming the patients it shows.

Two walks on a demo-like hospital (tests/phi_walk.py): every model registered with the admin
site, and every URL pattern of the project. A page is PHI unless it is on one of the
allow-lists below, each entry with its reason; a new admin model or URL that is on none is
walked as PHI, so it fails until it logs or is listed. Listed pages are opened too and must
show no patient.
"""

from urllib.parse import quote as urlquote
from urllib.parse import unquote

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.test import Client
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin

from riskplatform.core.admin_mixins import PhiAdminMixin
from riskplatform.core.models import AccessAction, AccessEvent
from tests.phi_walk import Hospital, hospital_for_module, patients_on, url_pages

pytestmark = pytest.mark.django_db

# Admin models whose pages show no patient data.
NOT_PHI_ADMINS = {
    "auth.group": "roles and their permissions",
    "auth.user": "platform accounts (staff, not patients)",
    "axes.accessattempt": "failed logins: username, address, browser",
    "axes.accesslog": "logins: username, address, browser",
    "axes.accessfailurelog": "failed logins: username, address, browser",
    "core.apiclient": "API integrations: name, state, last use",
    "django_celery_beat.clockedschedule": "task schedules",
    "django_celery_beat.crontabschedule": "task schedules",
    "django_celery_beat.intervalschedule": "task schedules",
    "django_celery_beat.periodictask": "the platform's scheduled tasks and their arguments",
    "django_celery_beat.solarschedule": "task schedules",
    "finance.interventionpolicy": "costs and success rates per window and tier",
    "finance.roitiersummary": "department totals per tier (reporting view)",
    "patients.department": "departments, their settings and patient counts",
    "predictions.deptriskdistribution": "department totals per window (reporting view)",
    "predictions.modelmonitoringrun": "monitoring results: aggregates by window, month, group",
    "predictions.modelversion": "model versions: metrics, thresholds, monitoring summary",
    "predictions.orgtiersummary": "organisation totals per tier (reporting view)",
    "predictions.scoringrun": "scoring runs: counts and timings",
    "predictions.trainingsnapshot": "label, row count, fingerprint, prevalence: never the rows",
}
# Pages of a PHI admin that the walk opens and that must log, by the route after the
# model's prefix; and those that need not, with the reason.
PHI_ADMIN_PAGES = {
    "": "changelist",
    "<path:object_id>/change/": "change",
    "<path:object_id>/history/": "history",
    "<path:object_id>/delete/": "delete",
    "^([^/]+)/history/([^/]+)/$": "simple_history",
}
NOT_PHI_ADMIN_PAGES = {
    "add/": "an empty form (or refused: service-written records are read-only); opened below",
    "<path:object_id>/": "redirects to the change page",
}
# Pages outside the model admins that show no patient data.
NOT_PHI_PAGES = {
    "": "redirects to /workspace/",
    "workspace": "the departments the user may open, with links; no patient row",
    "login": "account page",
    "logout": "account page",
    "password_change": "account page",
    "password_change_done": "account page",
    "password_reset": "account page",
    "password_reset_done": "account page",
    "password_reset_confirm": "account page (reached with a mailed token)",
    "password_reset_complete": "account page",
    "admin:index": "the admin's list of models",
    "admin:app_list": "the admin's list of an app's models",
    "admin:login": "account page",
    "admin:logout": "account page",
    "admin:password_change": "account page",
    "admin:password_change_done": "account page",
    "admin:jsi18n": "the admin's translations (JavaScript)",
    "admin:autocomplete": "answers only for autocomplete_fields, which no admin has (asserted)",
    "admin:view_on_site": "redirects to a record's get_absolute_url",
    "admin/(?P<url>.*)$": "the admin's catch-all: adds a slash or answers 404",
    "api-patients-create": "POST by an EHR with an API token (audited as PATIENT_ADDED); "
    "answers with the uuid and scores of the patient it sent",
    "api-admissions-create": "POST by an EHR with an API token (audited as "
    "ADMISSIONS_IMPORTED); answers with counts",
}


@pytest.fixture(scope="module")
def hospital(django_db_setup, django_db_blocker, small_cohort, tmp_path_factory):
    yield from hospital_for_module(
        django_db_blocker=django_db_blocker, small_cohort=small_cohort,
        tmp_path=tmp_path_factory.mktemp("hospital"),
    )  # fmt: skip


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _opened(client: Client, url: str, hospital: Hospital):
    """GET `url`; the events it wrote and the patients its body shows."""
    last = AccessEvent.objects.order_by("-event_id").values_list("event_id", flat=True).first()
    response = client.get(url)
    events = list(AccessEvent.objects.filter(event_id__gt=last or 0))
    shown = patients_on(response.content.decode(errors="replace"), hospital)
    # A searched uuid is echoed in the search box: the user's own input, kept in the path.
    return response, events, shown - patients_on(unquote(url), hospital)


def _assert_logged(client: Client, url: str, hospital: Hospital, action: AccessAction | None):
    response, events, shown = _opened(client, url, hospital)
    if response.status_code != 200:
        assert not events, f"{url} answered {response.status_code} and logged {events}"
        return response, None
    assert len(events) == 1, f"{url} wrote {len(events)} access events, not one"
    event = events[0]
    assert event.path == url and (action is None or event.action == action), url
    assert event.username == response.wsgi_request.user.get_username()
    missing = shown - {str(u) for u in event.patient_uuids}
    assert not missing, f"{url} shows patients its event does not name: {sorted(missing)[:3]}"
    assert event.patient_count == len(event.patient_uuids)
    return response, event


def _label(model) -> str:
    return model._meta.label_lower


def _admin_url(model, page: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}", args=args)


def _samples(model, hospital: Hospital) -> list:
    """The records whose pages the walk opens: ones that name the sample patient."""
    from riskplatform.core.models import AuditEvent

    patient, records = hospital.patient, model._default_manager.all()
    chosen = {
        "patients.patient": lambda: records.filter(pk=patient.pk),
        "predictions.predictionoutcome": lambda: records.filter(prediction__patient=patient),
        "finance.roipositivepatient": lambda: records.filter(patient_uuid=patient.patient_uuid),
        "core.accessevent": lambda: records.filter(patient_count__gt=0),
        "core.auditlog": lambda: (
            records.filter(entity_type="PATIENT", entity_id=patient.pk)
            | records.filter(event_type=AuditEvent.INTERVENTION_RECORDED)
        ),
    }.get(_label(model))
    if chosen is None and any(f.name == "patient" for f in model._meta.fields):
        chosen = lambda: records.filter(patient=patient)  # noqa: E731
    found = list(chosen()[:2]) if chosen else []
    return found or list(records[:1])


def _object_id(record) -> str:
    # The patient admin is addressed by patient_uuid (patients/admin_uuid.py).
    if _label(type(record)) == "patients.patient":
        return str(record.patient_uuid)
    return quote(record.pk)


def test_every_admin_model_is_classified():
    for model, model_admin in admin.site._registry.items():
        logged = isinstance(model_admin, PhiAdminMixin)
        listed = _label(model) in NOT_PHI_ADMINS
        assert logged != listed, (
            f"{_label(model)}: " + ("both logged and listed as not PHI" if logged else
            "add PhiAdminMixin to its admin, or list it in NOT_PHI_ADMINS with a reason")
        )  # fmt: skip
        assert not model_admin.autocomplete_fields, f"{_label(model)}: see admin:autocomplete"
    assert set(NOT_PHI_ADMINS) <= {_label(m) for m in admin.site._registry}, "stale entry"


def test_every_page_of_every_phi_admin_writes_an_access_event(hospital):
    client = _client(hospital.root)
    terms = (str(hospital.patient.patient_uuid), hospital.patient.external_id)
    for model, model_admin in admin.site._registry.items():
        if not isinstance(model_admin, PhiAdminMixin):
            continue
        label = _label(model)
        changelist = _admin_url(model, "changelist")
        response, _ = _assert_logged(client, changelist, hospital, AccessAction.ADMIN_VIEW)
        assert response.status_code == 200 and response.context["cl"].result_count, label
        for term in terms:  # the search: the patient's uuid, or external_id
            _assert_logged(client, f"{changelist}?q={urlquote(term)}", hospital,
                           AccessAction.ADMIN_VIEW)  # fmt: skip
        records = _samples(model, hospital)
        assert records, f"the hospital has no {label} to open"
        for record in records:
            object_id = _object_id(record)
            for page in ("change", "history", "delete"):
                url = _admin_url(model, page, object_id)
                response, _ = _assert_logged(client, url, hospital, AccessAction.ADMIN_VIEW)
                # Service-written records (and patients) cannot be deleted: 403, nothing shown.
                assert response.status_code in ((200, 403) if page == "delete" else (200,)), url
            if isinstance(model_admin, SimpleHistoryAdmin):
                version = record.history.order_by("-history_id").first()
                url = _admin_url(model, "simple_history", object_id, version.pk)
                response, _ = _assert_logged(client, url, hospital, AccessAction.ADMIN_VIEW)
                assert response.status_code == 200, url
        add, _events, shown = _opened(client, _admin_url(model, "add"), hospital)
        assert add.status_code in (200, 403) and not shown, label


def test_the_admins_patient_list_and_its_search_name_every_patient_shown(hospital):
    """The red-team finding: 100 external_ids and exact ages a page, unlogged."""
    from patients.models import Patient

    client = _client(hospital.root)
    url = _admin_url(Patient, "changelist")
    response, event = _assert_logged(client, url, hospital, AccessAction.ADMIN_VIEW)
    assert event.report == "admin:patients.patient:changelist"
    assert event.patient_count == len(response.context["cl"].result_list) == 100
    _, event = _assert_logged(client, f"{url}?q={hospital.patient.external_id}", hospital,
                              AccessAction.ADMIN_VIEW)  # fmt: skip
    assert event.patient_uuids == [hospital.patient.patient_uuid]
    assert event.path.endswith(f"?q={hospital.patient.external_id}")


def test_pages_of_admins_listed_as_not_phi_show_no_patient(hospital):
    client = _client(hospital.root)
    for model in admin.site._registry:
        if _label(model) not in NOT_PHI_ADMINS:
            continue
        urls = [_admin_url(model, "changelist")]
        urls += [_admin_url(model, "change", quote(r.pk)) for r in model._default_manager.all()[:1]]
        for url in urls:
            response, _events, shown = _opened(client, url, hospital)
            body = response.content.decode()
            assert response.status_code in (200, 403) and not shown, url
            assert not any(e in body for e in hospital.external_ids), url


def test_every_url_is_classified_and_every_phi_page_writes_an_access_event(hospital):
    admins = {f"admin/{m._meta.app_label}/{m._meta.model_name}/": a
              for m, a in admin.site._registry.items()}  # fmt: skip
    samples = {
        "department_code": "CARDIO",
        "window": "30_day",
        "patient_uuid": hospital.patient.patient_uuid,
        "intervention_uuid": hospital.intervention.intervention_uuid,
        "version": "v1.0",
    }
    coordinator, root = _client(hospital.coordinator), _client(hospital.root)
    walked = set()
    for page in url_pages():
        prefix = next((p for p in admins if page.route.startswith(p)), None)
        if prefix is not None:  # a model admin's page: the admin walks above open it
            rest = page.route[len(prefix) :]
            if isinstance(admins[prefix], PhiAdminMixin):
                assert rest in PHI_ADMIN_PAGES or rest in NOT_PHI_ADMIN_PAGES, (
                    f"{page.route}: a PHI admin's page the admin walk does not open"
                )
            continue
        if page.key in NOT_PHI_PAGES:
            if not page.params:
                url = reverse(page.name) if page.name else "/" + page.route
                for client in (coordinator, root):
                    response, _, shown = _opened(client, url, hospital)
                    assert not shown, f"{url} is listed as not PHI but shows patients"
            continue
        unknown = set(page.params) - set(samples)
        assert not unknown, f"{page.route}: give the walk a sample {sorted(unknown)}"
        url = reverse(page.name, kwargs={p: samples[p] for p in page.params})
        response, _event = _assert_logged(coordinator, url, hospital, action=None)
        assert response.status_code == 200, f"{url}: the coordinator of CARDIO may open it"
        walked.add(page.name)
    assert walked >= {
        "worklist",
        "worklist-export",
        "patient",
        "intervention-new",
        "intervention-edit",
        "report-department",
        "report-organisation",
        "report-interventions",
        "report-realised",
        "model-cards",
        "model-card",
    }
    assert not set(NOT_PHI_PAGES) - {p.key for p in url_pages()}, "stale NOT_PHI_PAGES entry"
