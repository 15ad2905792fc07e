import pandas as pd
import pytest
import skops.io as sio
from django.db import connection
from sklearn.linear_model import LogisticRegression

from predictions import model_store
from predictions.model_store import ModelIntegrityError, bundle_deserialise, model_bundle_load
from predictions.models import ModelVersion
from predictions.scoring import population_score, scoring_run_create
from predictions.services import (
    ModelContractError,
    model_version_activate,
    model_version_register,
)
from riskplatform.core.models import AuditEvent, AuditLog

pytestmark = pytest.mark.django_db


class NotAModel:
    pass


def test_registered_artifact_round_trips_with_its_hash(active_version):
    bundle = model_bundle_load("v1.0")
    assert bundle.sha256 == active_version.artifact_sha256
    assert set(bundle.models) == {"30_day", "60_day", "90_day"}
    assert AuditLog.objects.filter(event_type=AuditEvent.MODEL_REGISTERED).count() == 1


def test_altered_bytes_are_refused(active_version, patients_with_features):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE model_versions SET artifact = artifact || '\\x00'::bytea WHERE version = %s",
            ["v1.0"],
        )
    model_store.model_cache_clear()
    with pytest.raises(ModelIntegrityError, match="refusing to load it"):
        model_bundle_load("v1.0")
    run = scoring_run_create(version="v1.0", changed_by="test")
    with pytest.raises(ModelIntegrityError):
        population_score(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and "ModelIntegrityError" in run.error


def test_untrusted_types_in_an_artifact_are_refused():
    with pytest.raises(ModelIntegrityError, match="untrusted types"):
        bundle_deserialise(sio.dumps({"models": {"30_day": NotAModel()}}))


def test_a_model_that_does_not_accept_the_contract_is_refused(toy_models):
    wrong = LogisticRegression().fit(pd.DataFrame({"x": [0.0, 1.0], "y": [1.0, 0.0]}), [0, 1])
    models = {**toy_models.models, "60_day": wrong}
    with pytest.raises(ModelContractError, match="60_day: model rejects feature contract v1"):
        model_version_register(version="v9.0", models=models, changed_by="test")
    assert not ModelVersion.objects.filter(version="v9.0").exists()


def test_activation_retires_the_previous_version_atomically(active_version, toy_models):
    model_version_register(version="v1.1", models=toy_models.models, changed_by="test")
    model_version_activate(version="v1.1", changed_by="test")
    statuses = dict(ModelVersion.objects.values_list("version", "status"))
    assert statuses == {"v1.0": "retired", "v1.1": "active"}
    with pytest.raises(ValueError, match="retired"):
        model_version_activate(version="v1.0", changed_by="test")
