from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import ModelVersionFactory, PredictionFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"risk_score": Decimal("1.0001")}, "predictions_risk_score_0_1"),
        ({"risk_score": Decimal("-0.0001")}, "predictions_risk_score_0_1"),
        ({"risk_tier": 0, "tier_label": "Normal"}, "predictions_risk_tier_1_5"),
        ({"risk_tier": 6, "tier_label": "Critical"}, "predictions_risk_tier_1_5"),
        ({"risk_tier": 5, "tier_label": "Normal"}, "predictions_tier_label_matches"),
        ({"prediction_window": "45_day"}, "predictions_window_valid"),
        ({"prediction_confidence": Decimal("1.5")}, "predictions_confidence_0_1"),
    ],
)
def test_prediction_rule(assert_db_rejects, patient, model_version, values, constraint):
    assert_db_rejects(
        lambda: PredictionFactory(patient=patient, model_version=model_version, **values),
        constraint,
    )


def test_one_current_prediction_per_patient_window_and_version(
    assert_db_rejects, patient, model_version
):
    first = PredictionFactory(patient=patient, model_version=model_version)
    assert_db_rejects(
        lambda: PredictionFactory(patient=patient, model_version=model_version),
        "predictions_one_current_per_version",
    )
    # Re-scoring keeps history: once the old row is superseded, a new current row is allowed.
    first.superseded_at = timezone.now()
    first.save(update_fields=["superseded_at"])
    PredictionFactory(patient=patient, model_version=model_version)
    assert patient.predictions.count() == 2
    assert patient.predictions.filter(superseded_at__isnull=True).count() == 1


def test_same_patient_and_window_under_another_version_is_allowed(patient, model_version):
    PredictionFactory(patient=patient, model_version=model_version)
    PredictionFactory(patient=patient, model_version=ModelVersionFactory(version="v1.1"))
    assert patient.predictions.count() == 2


def test_model_version_must_be_registered(patient):
    from django.db import IntegrityError, connection, transaction

    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO predictions (patient_id, prediction_window, model_version, "
                "risk_score, risk_tier, tier_label) VALUES (%s, '30_day', 'v9.9', 0.5, 4, "
                "'High Risk')",
                [patient.pk],
            )
        connection.check_constraints()  # Django's FKs are deferred: check them now
    name = caught.value.__cause__.diag.constraint_name
    assert name.startswith("predictions_model_version_")
    assert name.endswith("_fk_model_versions_version")


@pytest.mark.parametrize("tier", [1, 2, 3, 4, 5])
def test_high_and_critical_flags_are_generated_from_tier(patient, model_version, tier):
    thresholds = {1: "0.05", 2: "0.10", 3: "0.25", 4: "0.50", 5: "0.75"}
    prediction = PredictionFactory(
        patient=patient, model_version=model_version, risk_score=Decimal(thresholds[tier])
    )
    prediction.refresh_from_db()
    assert prediction.risk_tier == tier
    assert prediction.is_high_risk is (tier >= 4)
    assert prediction.is_critical_risk is (tier == 5)


def test_only_one_active_model_version(assert_db_rejects, model_version):
    assert_db_rejects(
        lambda: ModelVersionFactory(version="v2.0", status="active"), "model_versions_one_active"
    )


def test_model_version_status_and_hash_are_checked(assert_db_rejects):
    assert_db_rejects(
        lambda: ModelVersionFactory(version="v3.0", status="shadow"), "model_versions_status_valid"
    )
    assert_db_rejects(
        lambda: ModelVersionFactory(version="v3.1", artifact_sha256="not-a-hash"),
        "model_versions_sha256_hex",
    )
