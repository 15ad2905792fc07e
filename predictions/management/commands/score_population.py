from django.db import transaction

from predictions.scoring_runs import population_score, scoring_run_create, scoring_run_dispatch
from riskplatform.core.actors import cli_actor
from riskplatform.core.commands import ModelVersionCommand
from riskplatform.core.progress import ProgressBar


class Command(ModelVersionCommand):
    help = (
        "Score every active patient under a model version, here and on any Celery worker "
        "(joins the version's unfinished run, if there is one)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--version", required=True)
        parser.add_argument("--chunk-size", type=int, default=5000)
        parser.add_argument(
            "--async", dest="run_async", action="store_true",
            help="leave it to the workers (the run row is kept; the sweep plans it if the "
            "message is lost)",
        )  # fmt: skip

    def handle(self, *args, version: str, chunk_size: int, run_async: bool, **options) -> None:
        run = scoring_run_create(version=version, changed_by=cli_actor(), chunk_size=chunk_size)
        if run.created_by != cli_actor() or run.started_at:
            self.stdout.write(f"Joining unfinished run {run.pk} of {version}.")
        if run_async:
            with transaction.atomic():
                scoring_run_dispatch(run_id=run.pk)
            self.stdout.write(f"Queued scoring run {run.pk}; follow it in the admin.")
            return
        bar = ProgressBar(f"Scoring {version}")
        run = population_score(
            run_id=run.pk,
            progress=lambda r: bar.update(r.patients_scored, r.patients_total),
            helpers=True,
        )
        bar.close()
        self.stdout.write(
            f"Run {run.pk}: {run.status}, {run.patients_scored} patients, "
            f"{run.predictions_written} predictions, {run.projections_written} projections in "
            f"{run.chunks_done} chunk(s) (model {run.seconds_scoring:.2f} s, "
            f"database {run.seconds_writing:.2f} s)"
        )
