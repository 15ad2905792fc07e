"""A test-only urlconf: the model card views under the names the project will give them,
plus the names base.html links to (pages of other areas point at a trivial view here)."""

from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path

from predictions.model_cards import model_card_view, model_cards_view
from riskplatform.core.views import workspace_view


def _elsewhere(request):
    return HttpResponse("built elsewhere")


urlpatterns = [
    path("workspace/", workspace_view, name="workspace"),
    path("reports/organisation/", _elsewhere, name="report-organisation"),
    path("reports/interventions/", _elsewhere, name="report-interventions"),
    path("models/", model_cards_view, name="model-cards"),
    path("models/<str:version>/", model_card_view, name="model-card"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
