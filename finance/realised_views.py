"""The realised ROI report (finance/realised_selectors.py): aggregates only, no patient row,
so every role may read it over the departments it may see. The view writes an access event
naming the report and its filters."""

from django.shortcuts import render

from finance.realisation import SAVINGS_RULE_VERSION
from finance.realised_selectors import realised_report
from patients.visibility import departments_visible_to, role_of, role_required
from predictions.models import ModelStatus, ModelVersion
from riskplatform.core.access import phi_logged, phi_shown
from riskplatform.core.models import AccessAction
from riskplatform.core.roles import Role
from riskplatform.core.windows import DAYS_IN_WINDOW, PredictionWindow

ALL_DEPARTMENTS = "all"


def _department_scope(request, departments: list) -> tuple[str, list]:
    """The chosen department code (or "all") and the departments it covers. Coordinators
    start on their (first) department, everyone else on the whole organisation."""
    by_code = {d.department_code: d for d in departments}
    code = request.GET.get("department", "").upper()
    if code in by_code:
        return code, [by_code[code]]
    if (
        code.lower() != ALL_DEPARTMENTS
        and departments
        and role_of(request.user) == Role.COORDINATOR
    ):
        return departments[0].department_code, departments[:1]
    return ALL_DEPARTMENTS, departments


@role_required()
@phi_logged(AccessAction.REPORT_VIEW)
def realised_report_view(request):
    departments = list(departments_visible_to(request.user).order_by("department_name"))
    code, chosen = _department_scope(request, departments)
    window = request.GET.get("window", "")
    window = window if window in DAYS_IN_WINDOW else PredictionWindow.DAYS_30.value
    versions = list(ModelVersion.objects.order_by("-created_at").values_list("version", "status"))
    requested = request.GET.get("version", "")
    version = (
        requested
        if requested in {v for v, _ in versions}
        else next((v for v, status in versions if status == ModelStatus.ACTIVE), None)
    )
    report = realised_report(
        department_ids=[d.pk for d in chosen], window=window, model_version=version
    )
    phi_shown(request, report=f"realised:{code}:{window}:{version or '-'}")
    return render(
        request,
        "finance/realised.html",
        {
            "report": report,
            "departments": departments,
            "department_code": code,
            "chosen": chosen,
            "window": window,
            "windows": list(DAYS_IN_WINDOW),
            "versions": versions,
            "version": version,
            "rule_version": SAVINGS_RULE_VERSION,
        },
    )
