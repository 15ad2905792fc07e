from pathlib import Path

from django.core.management.base import CommandError

from predictions.features import frame_prepare
from predictions.model_store import WINDOWS, ModelIntegrityError, bundle_deserialise, predict_risks
from predictions.monitoring import drift_reference_build
from predictions.services import ModelContractError, model_version_register
from predictions.tiers import thresholds_fixed, thresholds_percentile
from predictions.training import training_frame_read, window_metrics
from riskplatform.core.actors import cli_actor
from riskplatform.core.commands import ModelVersionCommand


class Command(ModelVersionCommand):
    help = (
        "Register models trained elsewhere (one skops file per window) as a candidate version, "
        "after checking that they accept the feature contract and return probabilities."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--version", required=True)
        for window in WINDOWS:
            days = window.split("_")[0]
            parser.add_argument(f"--window-{days}", type=Path, required=True, dest=window)
        parser.add_argument("--eval-data", type=Path, help="labelled CSV to compute metrics on")
        parser.add_argument("--tier-mode", choices=["fixed", "percentile"], default="fixed")
        parser.add_argument("--notes", default="")

    def handle(self, *args, version, eval_data, tier_mode, notes, **options) -> None:
        models = {}
        for window in WINDOWS:
            path: Path = options[window]
            if not path.is_file():
                raise CommandError(f"{path} does not exist")
            try:
                models[window] = bundle_deserialise(path.read_bytes())
            except ModelIntegrityError as exc:
                raise CommandError(f"{path.name}: {exc}") from exc
        metrics, thresholds = None, thresholds_fixed()
        if eval_data:
            frame = training_frame_read(eval_data)
            features = frame_prepare(frame)
            try:
                risks = predict_risks(models, features)
            except Exception as exc:  # reported as a contract failure below
                raise CommandError(f"models fail on {eval_data.name}: {exc}") from exc
            metrics = {
                "evaluation": {"file": eval_data.name, "n": len(frame)},
                "windows": {w: window_metrics(frame, w, risks[w]) for w in WINDOWS},
                # The evaluation rows stand in for the (unseen) training rows as the baseline
                # of drift monitoring (docs/monitoring.md).
                "drift_reference": drift_reference_build(features, risks),
            }
            if tier_mode == "percentile":
                thresholds = thresholds_percentile(risks)
        elif tier_mode == "percentile":
            raise CommandError("--tier-mode percentile needs --eval-data to place the cut-offs")
        try:
            registered = model_version_register(
                version=version,
                models=models,
                changed_by=cli_actor(),
                tier_thresholds=thresholds,
                metrics=metrics,
                notes=notes or "Registered with register_model.",
            )
        except ModelContractError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Registered {version} (candidate), sha256 {registered.artifact_sha256[:12]}"
        )
