import pandas as pd
import pytest
import skops.io as sio
from django.db import connection
from sklearn.linear_model import LogisticRegression

from predictions import model_store
from predictions.model_store import ModelIntegrityError, bundle_deserialise, model_bundle_load
from predictions.models import ModelVersion
from predictions.scoring_runs import population_score, scoring_run_create
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
        model_version_register(
            version="v9.0", models=models, encoding=toy_models.encoding, changed_by="test"
        )
    assert not ModelVersion.objects.filter(version="v9.0").exists()


def test_activation_retires_the_previous_version_atomically(active_version, toy_models):
    model_version_register(
        version="v1.1", models=toy_models.models, encoding=toy_models.encoding, changed_by="test"
    )
    model_version_activate(version="v1.1", changed_by="test")
    statuses = dict(ModelVersion.objects.values_list("version", "status"))
    assert statuses == {"v1.0": "retired", "v1.1": "active"}
    with pytest.raises(ValueError, match="retired"):
        model_version_activate(version="v1.0", changed_by="test")


@pytest.fixture(scope="module")
def external_models():
    """Models "trained elsewhere": each takes the contract's DataFrame itself."""
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from patients.feature_contract import feature_names
    from predictions.features import frame_prepare
    from tests.predictions.toy_data import toy_training_frame

    frame = toy_training_frame(n=600, seed=5)
    inputs = frame_prepare(frame[feature_names()])
    labels = {"30_day": "admitted_30d", "60_day": "admitted_60d", "90_day": "admitted_90d"}
    return {
        window: make_pipeline(
            make_column_transformer(
                (OneHotEncoder(handle_unknown="ignore"), ["gender", "race"]),
                remainder=StandardScaler(),
            ),
            LogisticRegression(),
        ).fit(inputs, frame[label])
        for window, label in labels.items()
    }


def _dump(tmp_path, models: dict) -> list[str]:
    args = []
    for window, model in models.items():
        path = tmp_path / f"{window}.skops"
        path.write_bytes(sio.dumps(model))
        args += [f"--window-{window.split('_')[0]}", str(path)]
    return args


def test_register_model_command_registers_external_models(tmp_path, external_models):
    from django.core.management import call_command

    from tests.predictions.toy_data import toy_training_frame

    eval_path = tmp_path / "eval.csv"
    toy_training_frame(n=400, seed=3).to_csv(eval_path, index=False)
    call_command(
        "register_model",
        "--version", "ext-1",
        *_dump(tmp_path, external_models),
        "--eval-data", str(eval_path),
        "--tier-mode", "percentile",
    )  # fmt: skip
    registered = ModelVersion.objects.get(version="ext-1")
    assert registered.status == "candidate"
    assert registered.tier_thresholds["mode"] == "percentile"
    assert registered.metrics["evaluation"]["n"] == 400
    assert "auc" in registered.metrics["windows"]["90_day"]
    assert model_bundle_load("ext-1").sha256 == registered.artifact_sha256
    # The evaluation rows are the drift baseline of an externally trained version.
    from predictions.monitoring import reference_usable

    reference = registered.metrics["drift_reference"]
    assert reference_usable(reference) is None
    assert set(reference["scores"]) == {"30_day", "60_day", "90_day"}


def test_register_model_command_refuses_a_model_without_the_contract(tmp_path, external_models):
    from django.core.management import CommandError, call_command

    wrong = LogisticRegression().fit(pd.DataFrame({"x": [0.0, 1.0], "y": [1.0, 0.0]}), [0, 1])
    args = _dump(tmp_path, {**external_models, "90_day": wrong})
    with pytest.raises(CommandError, match="90_day: model rejects feature contract v1"):
        call_command("register_model", "--version", "ext-2", *args)
    assert not ModelVersion.objects.filter(version="ext-2").exists()


def test_models_that_take_the_contract_frame_score_the_population(
    external_models, patients_with_features
):
    from predictions.models import Prediction

    model_version_register(version="ext-3", models=external_models, changed_by="test")
    model_version_activate(version="ext-3", changed_by="test")
    run = population_score(run_id=scoring_run_create(version="ext-3", changed_by="test").pk)
    assert run.status == "succeeded"
    assert Prediction.objects.filter(model_version_id="ext-3").count() == 3 * 25
