from django.db import transaction

from predictions.scoring import population_score, scoring_run_create
from predictions.tasks import score_population_task
from riskplatform.core.actors import cli_actor
from riskplatform.core.commands import ModelVersionCommand
from riskplatform.core.progress import ProgressBar


class Command(ModelVersionCommand):
    help = "Score every active patient under a model version (resumes an unfinished run)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--version", required=True)
        parser.add_argument("--chunk-size", type=int, default=5000)
        parser.add_argument(
            "--async", dest="run_async", action="store_true", help="queue it for a worker"
        )

    def handle(self, *args, version: str, chunk_size: int, run_async: bool, **options) -> None:
        run = scoring_run_create(version=version, changed_by=cli_actor(), chunk_size=chunk_size)
        if run_async:
            transaction.on_commit(lambda: score_population_task.delay(run.pk))
            self.stdout.write(f"Queued scoring run {run.pk}; follow it in the admin.")
            return
        bar = ProgressBar(f"Scoring {version}")
        run = population_score(
            run_id=run.pk, progress=lambda r: bar.update(r.patients_scored, r.patients_total)
        )
        bar.close()
        self.stdout.write(
            f"Run {run.pk}: {run.patients_scored} patients, {run.predictions_written} predictions, "
            f"{run.projections_written} projections (model {run.seconds_scoring:.2f} s, "
            f"database {run.seconds_writing:.2f} s)"
        )
