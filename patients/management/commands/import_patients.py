import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from patients.csv_reader import RowsRejected
from patients.importer import IMPORT_SOURCES, patients_import
from riskplatform.core.locks import LockWaitTimeout


class Command(BaseCommand):
    help = "Import an X_test-style CSV of patients and features (all rows or nothing)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--source", choices=[str(s) for s in IMPORT_SOURCES], required=True)
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="load the good rows; write the bad ones with reasons to a rejects CSV",
        )
        parser.add_argument("--rejects", type=Path, help="rejects CSV (default FILE.rejects.csv)")

    def handle(self, *args, file: Path, source: str, skip_invalid: bool, rejects, **options):
        if not file.is_file():
            raise CommandError(f"{file} does not exist")
        actor = f"cli:{getpass.getuser()}"[:50]
        try:
            result = patients_import(
                path=file,
                source=source,
                changed_by=actor,
                skip_invalid=skip_invalid,
                rejects_path=rejects,
            )
        except RowsRejected as rejected:  # bad rows, or a file that cannot be read
            for error in rejected.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{file.name} rejected: {rejected}") from None
        except LockWaitTimeout as exc:  # another import ran longer than the timeout
            raise CommandError(f"{file.name} not imported: {exc}; try again.") from None
        self.stdout.write(
            f"{file.name}: {result.rows} rows: {result.created} created, {result.updated} "
            f"updated, {result.unchanged} unchanged, {result.rejected} rejected "
            f"in {result.seconds:.2f} s"
        )
        if result.ignored_columns:
            self.stdout.write(f"Ignored columns: {', '.join(result.ignored_columns)}")
        if result.rejects_path:
            self.stdout.write(f"Rejected rows with reasons: {result.rejects_path}")
