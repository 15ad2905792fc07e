from datetime import date
from pathlib import Path

import pandas as pd
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from patients.cohort import admissions_from_truth, cohort_write
from patients.feature_contract import CONDITION_YES, CONDITIONS


class Command(BaseCommand):
    help = (
        "Write a synthetic cohort: X_test.csv, training.csv and X_test_truth.csv (docs/cohort.md)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--patients", type=int, required=True)
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument("--training-patients", type=int, default=20_000)
        parser.add_argument(
            "--out-dir",
            type=Path,
            default=settings.DATA_DIR / "demo",
            help="default: RISKPLATFORM_DATA_DIR/demo (.data/demo when unset)",
        )
        parser.add_argument(
            "--admissions-scored-on",
            type=date.fromisoformat,
            metavar="YYYY-MM-DD",
            help="also write admissions.csv (import_admissions format): the truth's admissions "
            "as if the population was scored on this day; admissions after today are left out",
        )

    def handle(
        self,
        *args,
        patients: int,
        seed: int,
        training_patients: int,
        out_dir: Path,
        admissions_scored_on: date | None = None,
        **options,
    ) -> None:
        if patients < 1 or training_patients < 1:
            raise CommandError("--patients and --training-patients must be at least 1")
        files = cohort_write(
            out_dir=out_dir, patients=patients, seed=seed, training_patients=training_patients
        )
        for path in (files.x_test, files.training, files.truth):
            self.stdout.write(str(path))
        if admissions_scored_on is not None:
            admissions = admissions_from_truth(
                truth_path=files.truth,
                scored_on=admissions_scored_on,
                out_path=out_dir / "admissions.csv",
                seed=seed,
                until=timezone.localdate(),
            )
            self.stdout.write(str(admissions))
        # Summarise what was written, read back from the files.
        x_test, truth = pd.read_csv(files.x_test), pd.read_csv(files.truth)
        risks = "/".join(
            f"{truth[c].mean():.3f}" for c in ("true_risk_30", "true_risk_60", "true_risk_90")
        )
        prevalence = ", ".join(
            f"{c.removeprefix('has_')} {(x_test[c] == CONDITION_YES).mean():.1%}"
            for c in CONDITIONS
        )
        self.stdout.write(
            f"{patients} patients (seed {seed}); mean true 30/60/90-day risk {risks}; "
            f"observed 90-day admission rate {truth['admitted_90d'].mean():.3f}; "
            f"prevalence: {prevalence}"
        )
