from django.urls import path

from predictions import model_cards, views
from riskplatform.core import converters  # noqa: F401  (registers <dept:…>)

urlpatterns = [
    path(
        "worklists/<dept:department_code>/<str:window>/",
        views.worklist_view,
        name="worklist",
    ),
    path(
        "worklists/<dept:department_code>/<str:window>/export.csv",
        views.worklist_export_view,
        name="worklist-export",
    ),
    path("patients/<uuid:patient_uuid>/", views.patient_view, name="patient"),
    path("models/", model_cards.model_cards_view, name="model-cards"),
    path("models/<str:version>/", model_cards.model_card_view, name="model-card"),
]
