from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from predictions.services import training_snapshot_register
from predictions.snapshot_selectors import training_snapshot_summary
from riskplatform.core.actors import cli_actor


class Command(BaseCommand):
    help = (
        "Register a labelled training CSV as a training snapshot in PostgreSQL (idempotent: "
        "the same data again prints the existing snapshot). Re-evaluation trains on the latest."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--label", default="", help="a name for it (default: the file name)")

    def handle(self, *args, file: Path, label: str, **options) -> None:
        if not file.is_file():
            raise CommandError(f"{file} does not exist")
        try:
            snapshot = training_snapshot_register(path=file, label=label, changed_by=cli_actor())
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for line in training_snapshot_summary(snapshot):
            self.stdout.write(line)
