"""The coordinators' pages: worklists (with CSV export) and the patient page. Who may see
what comes from patients/visibility.py; every page and export writes an access event."""

from django.http import Http404
from django.shortcuts import get_object_or_404, render

from finance.models import RoiCategory
from patients.models import DataSource
from patients.visibility import (
    age_band,
    departments_visible_to,
    exact_dates_visible_to,
    identifiers_visible_to,
    patients_visible_to,
    role_required,
)
from predictions.explanations import risk_drivers
from predictions.patient_page import patient_page_context
from predictions.services import NoActiveModel, active_model_version
from predictions.worklist import (
    PAGE_SIZE,
    SORTS,
    WorklistFilters,
    flagged_tiers,
    worklist_rows,
)
from riskplatform.core.access import phi_logged, phi_shown
from riskplatform.core.csv_safe import csv_download
from riskplatform.core.models import AccessAction
from riskplatform.core.windows import DAYS_IN_WINDOW


def _department_and_window(request, department_code: str, window: str):
    if window not in DAYS_IN_WINDOW:
        raise Http404("unknown window")
    department = get_object_or_404(
        departments_visible_to(request.user), department_code=department_code
    )
    return department, window


def _filters(request, department) -> WorklistFilters:
    allowed = flagged_tiers(department)
    # Compared as text: str.isdigit() admits "²" and "٦", which int() refuses or reads as 6.
    requested = set(request.GET.getlist("tier"))
    tiers = tuple(tier for tier in allowed if str(tier) in requested)
    roi = request.GET.get("roi", "")
    source = request.GET.get("source", "")
    sort = request.GET.get("sort", "net_benefit")
    return WorklistFilters(
        tiers=tiers,
        roi_category=roi if roi in RoiCategory.values else "",
        data_source=source if source in DataSource.values else "",
        sort=sort if sort in SORTS else "net_benefit",
    )


def _drivers_attach(rows: list, *, window: str, exact_age: bool):
    """Each row's reasons under the active model (one batched prediction for all rows);
    the active version, or None when there is none."""
    try:
        version = active_model_version()
    except NoActiveModel:
        return None
    if rows:
        drivers = risk_drivers(
            version=version, patient_ids=[row.patient_id for row in rows], windows=[window],
            exact_age=exact_age,
        )[window]  # fmt: skip
        for row in rows:
            row.drivers = drivers.get(row.patient_id, [])
    return version


# Beyond any list's last page (which shows the first); bounds the OFFSET well inside bigint.
MAX_PAGE = 100_000


def _page_number(request) -> int:
    raw = request.GET.get("page", "1")
    if not (raw.isascii() and raw.isdigit()):  # isdigit() alone admits "²" and "٦"
        return 1
    # More digits than MAX_PAGE is past it (and 5,000 digits would make int() raise).
    return MAX_PAGE if len(raw) > len(str(MAX_PAGE)) else min(max(int(raw), 1), MAX_PAGE)


@role_required()
@phi_logged(AccessAction.WORKLIST_VIEW)
def worklist_view(request, department_code: str, window: str):
    department, window = _department_and_window(request, department_code, window)
    filters = _filters(request, department)
    page = _page_number(request)
    rows, total = worklist_rows(department=department, window=window, filters=filters, page=page)
    if not rows and page > 1:  # past the last page (the list shrank): show the first
        page = 1
        rows, total = worklist_rows(department=department, window=window, filters=filters)
    version = _drivers_attach(rows, window=window, exact_age=identifiers_visible_to(request.user))
    phi_shown(
        request,
        report=f"worklist:{department.department_code}:{window}",
        patient_uuids=[row.patient_uuid for row in rows],
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "predictions/worklist.html",
        {
            "department": department,
            "window": window,
            "windows": list(DAYS_IN_WINDOW),
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
            "filters": filters,
            "tiers": flagged_tiers(department),
            "roi_categories": RoiCategory.choices,
            "data_sources": DataSource.choices,
            "sorts": [("net_benefit", "Net benefit"), ("roi", "ROI %"), ("score", "Score")],
            "query": query.urlencode(),
            "show_identifiers": identifiers_visible_to(request.user),
            "version": version,
        },
    )


@role_required()
@phi_logged(AccessAction.EXPORT)
def worklist_export_view(request, department_code: str, window: str):
    department, window = _department_and_window(request, department_code, window)
    filters = _filters(request, department)
    rows, _ = worklist_rows(department=department, window=window, filters=filters, page=None)
    identifiers = identifiers_visible_to(request.user)
    _drivers_attach(rows, window=window, exact_age=identifiers)
    phi_shown(
        request,
        report=f"worklist-csv:{department.department_code}:{window}",
        patient_uuids=[row.patient_uuid for row in rows],
    )
    # Numbers go in as numbers, text as text: riskplatform/core/csv_safe.py neutralises text.
    response, writer = csv_download(filename=f"worklist-{department.department_code}-{window}.csv")
    writer.writerow(
        ["patient_uuid", *(["external_id", "age"] if identifiers else ["age_band"]), "gender",
         "data_source", "window", "risk_score", "risk_tier", "tier_label", "previous_score",
         "intervention_cost", "expected_savings", "net_benefit", "roi_percentage",
         "roi_category", "reasons"]
    )  # fmt: skip
    for row in rows:
        writer.writerow(
            [row.patient_uuid,
             *([row.external_id or "", row.age] if identifiers else [age_band(row.age)]),
             row.gender or "", row.data_source, window, row.risk_score, row.risk_tier,
             row.tier_label, "" if row.previous_score is None else row.previous_score,
             row.intervention_cost, row.expected_savings, row.net_benefit,
             "" if row.roi_percentage is None else row.roi_percentage, row.roi_category,
             "; ".join(f"{d.reason}: {d.effect_text}" for d in row.drivers)]
        )  # fmt: skip
    return response


@role_required()
@phi_logged(AccessAction.PATIENT_VIEW, report="patient")
def patient_view(request, patient_uuid):
    patient = get_object_or_404(
        patients_visible_to(request.user).select_related("department", "features"),
        patient_uuid=patient_uuid,
    )
    phi_shown(request, patient_uuids=[patient.patient_uuid])
    context = patient_page_context(
        patient=patient,
        show_identifiers=identifiers_visible_to(request.user),
        exact_dates=exact_dates_visible_to(request.user),
    )
    return render(request, "predictions/patient.html", context)
