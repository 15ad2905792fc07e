"""Recording interventions (finance/intervention_views.py), mounted at the site root beside
the patient pages they start from."""

from django.urls import path

from finance.intervention_views import intervention_edit_view, intervention_new_view

urlpatterns = [
    path(
        "patients/<uuid:patient_uuid>/interventions/new/",
        intervention_new_view,
        name="intervention-new",
    ),
    path(
        "interventions/<uuid:intervention_uuid>/edit/",
        intervention_edit_view,
        name="intervention-edit",
    ),
]
