from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from patients.api import admissions_create_view
from predictions.api import patients_create_view
from riskplatform.core.views import workspace_view

admin.site.site_header = "Risk platform"
admin.site.site_title = "Risk platform"
admin.site.index_title = "Population-health risk"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="workspace", permanent=False)),
    path("workspace/", workspace_view, name="workspace"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("predictions.urls")),
    path("", include("finance.intervention_urls")),
    path("reports/", include("finance.urls")),
    path("admin/", admin.site.urls),
    path("api/patients/", patients_create_view, name="api-patients-create"),
    path("api/admissions/", admissions_create_view, name="api-admissions-create"),
]

# JSON, not HTML, on the API (riskplatform/core/api_failures.py); pages keep Django's own.
handler400 = "riskplatform.core.api_failures.bad_request"
handler403 = "riskplatform.core.api_failures.permission_denied"
handler404 = "riskplatform.core.api_failures.page_not_found"
handler500 = "riskplatform.core.api_failures.server_error"
