from pathlib import Path

from django.core.management.base import CommandError

from predictions.model_store import WINDOWS
from predictions.services import model_version_train
from predictions.snapshot_selectors import (
    NoTrainingSnapshot,
    training_snapshot_get,
    training_snapshot_of,
    training_snapshot_summary,
)
from riskplatform.core.actors import cli_actor
from riskplatform.core.commands import ModelVersionCommand


class Command(ModelVersionCommand):
    help = (
        "Train the 30/60/90-day models on a labelled CSV (registered as a training snapshot "
        "first) or on a registered snapshot, and register them as a candidate."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--version", required=True, help="label, for example v1.0")
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--data", type=Path, default=Path(".data/demo/training.csv"))
        source.add_argument("--snapshot", type=int, help="id of a registered training snapshot")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--tier-mode", choices=["fixed", "percentile"], default="fixed")
        parser.add_argument("--max-iter", type=int, default=300)

    def handle(self, *args, version, data, snapshot, seed, tier_mode, max_iter, **options):
        if snapshot is None and not data.is_file():
            raise CommandError(f"{data} does not exist (make one with generate_cohort)")
        try:
            # A file is registered as a training snapshot first (model_version_train), so
            # every version's data stays in PostgreSQL.
            training = None if snapshot is None else training_snapshot_get(snapshot_id=snapshot)
            model_version = model_version_train(
                version=version,
                snapshot=training,
                training_path=data if training is None else None,
                changed_by=cli_actor(),
                seed=seed,
                tier_mode=tier_mode,
                max_iter=max_iter,
            )
        except (ValueError, NoTrainingSnapshot) as exc:
            raise CommandError(str(exc)) from exc
        for line in training_snapshot_summary(training_snapshot_of(version=model_version)):
            self.stdout.write(line)
        holdout = model_version.metrics["holdout"]
        self.stdout.write(
            f"Registered {version} (candidate), sha256 {model_version.artifact_sha256[:12]}, "
            f"held-out n={holdout['n']} of {holdout['n'] + holdout['train_n']}"
        )
        self.stdout.write(
            f"{'window':<8} {'AUC':>6} {'truth AUC':>9} {'ratio':>6} {'Brier':>7} "
            f"{'slope':>6} {'intercept':>9}  tiers ≥"
        )
        for window in WINDOWS:
            m = model_version.metrics["windows"][window]
            self.stdout.write(
                f"{window:<8} {m['auc']:>6.4f} {m.get('truth_auc', float('nan')):>9.4f} "
                f"{m.get('auc_ratio_to_truth', float('nan')):>6.3f} {m['brier']:>7.4f} "
                f"{m['calibration_slope']:>6.3f} {m['calibration_intercept']:>9.3f}  "
                f"{model_version.tier_thresholds[window]}"
            )
