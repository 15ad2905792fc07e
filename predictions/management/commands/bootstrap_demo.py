import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from riskplatform.core.actors import cli_actor
from riskplatform.demo import demo_bootstrap, demo_is_loaded


class Command(BaseCommand):
    help = "Load the demo (Scenario 1): generate, import, train, score, project, refresh."

    def add_arguments(self, parser) -> None:
        default_dir = Path(os.environ.get("RISKPLATFORM_DATA_DIR", settings.BASE_DIR / ".data"))
        parser.add_argument("--out-dir", type=Path, default=default_dir / "demo")
        parser.add_argument("--patients", type=int, default=3000)
        parser.add_argument("--training-patients", type=int, default=20000)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when data is already loaded"
        )

    def handle(self, *args, out_dir, patients, training_patients, seed, if_empty, **options):
        if if_empty and demo_is_loaded():
            self.stdout.write("Data already loaded; demo not bootstrapped again.")
            return
        demo_bootstrap(
            out_dir=out_dir,
            changed_by=cli_actor(),
            patients=patients,
            training_patients=training_patients,
            seed=seed,
            progress=self.stdout.write,
        )
