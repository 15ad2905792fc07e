"""The three roles and the model permissions each group holds (created by migration
core.0006, brought up to date by core.0013; `manage.py role_assign` puts a user in one).
What each role may *see* is decided in patients/visibility.py."""

from enum import StrEnum


class Role(StrEnum):
    COORDINATOR = "Care coordinator"
    ANALYST = "Analyst"
    PLATFORM_ADMIN = "Platform admin"


# app_label -> codenames; "*" is every permission of the app.
ROLE_PERMISSIONS: dict[Role, dict[str, list[str]]] = {
    # Their departments' patients in the admin (patients/admin_scope.py); changing a
    # patient there also needs COORDINATOR_FEATURE_EDITS (patients/visibility.py).
    Role.COORDINATOR: {
        "patients": ["view_department", "view_patient", "change_patient",
                     "view_patientfeatures", "change_patientfeatures", "add_patientfeatures",
                     "view_admission"],
        "predictions": ["view_prediction", "view_predictionoutcome"],
        "finance": ["view_financialprojection", "view_interventionpolicy",
                    "view_roipositivepatient", "view_intervention", "add_intervention",
                    "change_intervention"],
    },
    Role.ANALYST: {
        "patients": ["view_department"],
        "predictions": ["view_prediction", "view_modelversion", "view_modelcomparison",
                        "view_scoringrun"],
        "finance": ["view_financialprojection", "view_interventionpolicy"],
    },
    Role.PLATFORM_ADMIN: {
        label: ["*"]
        for label in ("auth", "core", "patients", "predictions", "finance", "django_celery_beat")
    },
}  # fmt: skip
