from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from patients.admissions import admissions_import
from patients.csv_reader import RowsRejected
from patients.models import AdmissionSource
from riskplatform.core.actors import cli_actor


class Command(BaseCommand):
    help = (
        "Import an admissions CSV (external_id or patient_uuid, admission_date, "
        "discharge_date, stay_cost; docs/outcomes.md). All rows or nothing; re-importing "
        "the same file changes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--source",
            choices=AdmissionSource.values,
            default=AdmissionSource.IMPORTED,
            help="where the admissions come from (default IMPORTED)",
        )

    def handle(self, *args, file: Path, source: str, **options) -> None:
        if not file.is_file():
            raise CommandError(f"{file} does not exist")
        try:
            result = admissions_import(path=file, changed_by=cli_actor(), source=source)
        except RowsRejected as rejected:  # bad rows, or a file that cannot be read
            for error in rejected.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{file.name} rejected: {rejected}") from None
        self.stdout.write(
            f"{file.name}: {result.rows} rows: {result.created} created, {result.updated} "
            f"updated, {result.unchanged} unchanged"
        )
        if result.ignored_columns:
            self.stdout.write(f"Ignored columns: {', '.join(result.ignored_columns)}")
