"""The finance reports: organisation summary, department report, intervention planning.

Aggregates come from the reporting views or from one GROUP BY query each (finance/selectors.py);
who may see which department comes from patients/visibility.py. Every page writes an access
event; only the department report lists patients, and its event names them.
"""

from django.shortcuts import get_object_or_404, render
from django.utils.safestring import SafeString

from finance.selectors import (
    WindowPlan,
    WindowTiers,
    department_risk_comparison,
    department_roi_summary,
    department_top_roi_patients,
    intervention_plan,
    organisation_summary,
    reporting_views_refreshed_at,
)
from patients.visibility import (
    departments_visible_to,
    identifiers_visible_to,
    role_of,
    role_required,
)
from riskplatform.core.access import phi_logged, phi_shown
from riskplatform.core.charts import PALETTE, TIER_COLOURS, Series, bar_chart
from riskplatform.core.models import AccessAction
from riskplatform.core.roles import Role
from riskplatform.core.windows import DAYS_IN_WINDOW, PredictionWindow, RiskTier

FORECAST_WINDOW = PredictionWindow.DAYS_30.value  # "next month"
PLAN_TIERS = {
    RiskTier.CRITICAL.value: "critical (tier 5)",
    RiskTier.HIGH.value: "high and critical (tier 4 and 5)",
}


def _tier_chart(window: WindowTiers) -> SafeString:
    # One bar per tier, each in its tier's colour (a series per tier gives colour and legend).
    return bar_chart(
        [f"{window.days}-day window"],
        [
            Series(tier.tier_label, [tier.patient_count], TIER_COLOURS[tier.risk_tier])
            for tier in window.tiers
        ],
        title=f"Patients per tier, {window.days} days",
        width=440,
    )


def _plan_chart(plan: WindowPlan) -> SafeString:
    return bar_chart(
        [line.department_code for line in plan.lines],
        [
            Series(name, [float(getattr(line, field)) / 1000 for line in plan.lines], colour)
            for name, field, colour in (
                ("Intervention cost", "intervention_cost", PALETTE[1]),
                ("Expected savings", "expected_savings", PALETTE[2]),
            )
        ],
        title=f"{plan.days} days: cost and expected savings ($ thousands)",
        value_format="{:,.1f}",
    )


@role_required()
@phi_logged(AccessAction.REPORT_VIEW, report="organisation-summary")
def organisation_report_view(request):
    summary = organisation_summary()
    return render(
        request,
        "finance/organisation.html",
        {
            "summary": summary,
            "windows": [(window, _tier_chart(window)) for window in summary.windows],
            "forecast": summary.window(FORECAST_WINDOW),
            "refreshed_at": reporting_views_refreshed_at(),
        },
    )


@role_required()
@phi_logged(AccessAction.REPORT_VIEW)
def department_report_view(request, department_code: str):
    department = get_object_or_404(
        departments_visible_to(request.user), department_code=department_code
    )
    show_identifiers = identifiers_visible_to(request.user)
    top_window = request.GET.get("window")
    top_window = top_window if top_window in DAYS_IN_WINDOW else None
    top_patients = department_top_roi_patients(
        department=department, with_external_id=show_identifiers, window=top_window
    )
    phi_shown(
        request,
        report=f"department:{department.department_code}",
        patient_uuids=[row.patient_uuid for row in top_patients],
    )
    return render(
        request,
        "finance/department.html",
        {
            "department": department,
            "comparisons": department_risk_comparison(department=department),
            "roi_windows": department_roi_summary(department=department),
            "top_patients": top_patients,
            "show_identifiers": show_identifiers,
            "top_window": top_window,
            "windows": list(DAYS_IN_WINDOW),
            "refreshed_at": reporting_views_refreshed_at(),
        },
    )


@role_required()
@phi_logged(AccessAction.REPORT_VIEW, report="intervention-planning")
def intervention_planning_view(request):
    requested = request.GET.get("min_tier", "")
    # Compared as text: str.isdigit() admits "²", which int() refuses.
    min_tier = next((tier for tier in PLAN_TIERS if str(tier) == requested), 5)
    plans = intervention_plan(departments=departments_visible_to(request.user), min_tier=min_tier)
    return render(
        request,
        "finance/interventions.html",
        {
            "plans": [(plan, _plan_chart(plan)) for plan in plans],
            "min_tier": min_tier,
            "tier_choices": PLAN_TIERS.items(),
            "scope": PLAN_TIERS[min_tier],
            "restricted": role_of(request.user) == Role.COORDINATOR,
            "refreshed_at": reporting_views_refreshed_at(),
        },
    )
