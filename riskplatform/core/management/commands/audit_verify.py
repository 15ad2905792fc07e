from django.core.management.base import BaseCommand

from riskplatform.core.audit_chain import chains_verify


class Command(BaseCommand):
    help = (
        "Walk the hash chains of audit_log and access_log: print 'intact: N rows' for each, or "
        "the first broken link (table, row id, expected and stored hash) and exit 1."
    )

    def handle(self, *args, **options) -> None:
        reports = chains_verify()
        for report in reports:
            line = report.line()
            self.stdout.write(self.style.SUCCESS(line) if report.intact else self.style.ERROR(line))
        if not all(report.intact for report in reports):
            raise SystemExit(1)
