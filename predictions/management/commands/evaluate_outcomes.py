from datetime import date

from django.core.management.base import BaseCommand

from predictions.outcomes import outcomes_evaluate
from riskplatform.core.actors import cli_actor


class Command(BaseCommand):
    help = (
        "Judge every prediction whose window has passed against the admissions known so far "
        "and realise the projections' savings (what the daily beat task does)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--as-of", type=date.fromisoformat, default=None,
            help="judge the windows that ended before this day (default: today)",
        )  # fmt: skip

    def handle(self, *args, as_of: date | None, **options) -> None:
        result = outcomes_evaluate(changed_by=cli_actor(), as_of=as_of)
        self.stdout.write(
            f"As of {result.as_of}: {result.written} outcomes written or corrected "
            f"({result.admitted} admitted), {result.realised} projections realised."
        )
