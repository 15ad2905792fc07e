from django.urls import path

from finance.realised_views import realised_report_view
from finance.views import (
    department_report_view,
    intervention_planning_view,
    organisation_report_view,
)
from riskplatform.core import converters  # noqa: F401  (registers <dept:…>)

urlpatterns = [
    path("organisation/", organisation_report_view, name="report-organisation"),
    path(
        "departments/<dept:department_code>/",
        department_report_view,
        name="report-department",
    ),
    path("interventions/", intervention_planning_view, name="report-interventions"),
    path("realised/", realised_report_view, name="report-realised"),
]
