"""What the patient page shows, read in a fixed, small number of queries."""

from datetime import date

from patients.feature_contract import features
from patients.feature_phrases import feature_label, value_phrase
from patients.models import Patient
from patients.visibility import age_band, patient_date
from predictions.explanations import risk_drivers
from predictions.models import ModelStatus, Prediction
from predictions.services import NoActiveModel, active_model_version
from riskplatform.core.windows import DAYS_IN_WINDOW

# Identifying fields an analyst never sees, in the page or in its change history.
IDENTIFYING_FIELDS = {"external_id", "age", "primary_provider_id", "created_by", "updated_by"}


def patient_page_context(*, patient: Patient, show_identifiers: bool, exact_dates: bool) -> dict:
    predictions = list(
        Prediction.objects.filter(patient=patient)
        .select_related("model_version", "projection", "outcome")
        .order_by("prediction_window", "-prediction_timestamp", "-prediction_id")
    )
    current = {
        p.prediction_window: p
        for p in predictions
        if p.superseded_at is None and p.model_version.status == ModelStatus.ACTIVE
    }
    try:
        version = active_model_version()
    except NoActiveModel:
        version = None
    drivers = {}
    if version and current and patient.is_active:
        found = risk_drivers(
            version=version, patient_ids=[patient.pk], windows=list(current),
            exact_age=show_identifiers,
        )  # fmt: skip
        drivers = {window: by_patient.get(patient.pk, []) for window, by_patient in found.items()}
    windows = [
        {
            "window": window,
            "current": current.get(window),
            "drivers": drivers.get(window, []),
            "history": [p for p in predictions if p.prediction_window == window],
        }
        for window in DAYS_IN_WINDOW
    ]
    return {
        "patient": patient,
        "show_identifiers": show_identifiers,
        "exact_dates": exact_dates,
        "age_shown": patient.age if show_identifiers else age_band(patient.age),
        "features": _features(patient),
        "windows": windows,
        "changes": _changes(patient, show_identifiers, exact_dates),
        "version": version,
        "interventions": list(
            patient.interventions.select_related("prediction").order_by(
                "-intervention_date", "-intervention_id"
            )
        ),
        "admissions": list(patient.admissions.order_by("-admission_date")),
        # Recording is for the roles that see identifiers: coordinators and platform admins.
        "can_record_interventions": show_identifiers,
    }


def _features(patient: Patient) -> list[tuple[str, str, str]]:
    """(column, what it is, its value in words): age, gender and race are in the
    demographics block."""
    values = patient.features
    return [
        (f.name, feature_label(f.name), value_phrase(f.name, getattr(values, f.name)))
        for f in features()
        if f.table != "patients"
    ]


def _changes(patient: Patient, show_identifiers: bool, exact_dates: bool) -> list[dict]:
    """Every recorded change of the patient and their features, newest first, with the
    fields that changed (analysts do not see identifying fields, and dates only by month)."""
    changes = []
    for history in (patient.history.all(), patient.features.history.all()):
        records = list(
            history.select_related("history_user").order_by("history_date", "history_id")
        )
        for previous, record in zip([None, *records], records, strict=False):
            fields = (
                [(c.field, _shown(c.old, exact_dates), _shown(c.new, exact_dates))
                 for c in record.diff_against(previous).changes]
                if previous is not None
                else []
            )  # fmt: skip
            if not show_identifiers:
                fields = [f for f in fields if f[0] not in IDENTIFYING_FIELDS]
            changes.append(
                {
                    "when": record.history_date,
                    "what": record._meta.model._meta.verbose_name.replace("historical ", ""),
                    "type": record.get_history_type_display(),
                    "by": record.history_change_reason
                    or (record.history_user.get_username() if record.history_user else ""),
                    "fields": fields,
                }
            )
    return sorted(changes, key=lambda change: change["when"], reverse=True)


def _shown(value, exact_dates: bool):
    # A changed date field (updated_at, say) is a patient's date like any other.
    if isinstance(value, date):
        return patient_date(value, exact=exact_dates, time=True)
    return value
