from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from riskplatform.core.selectors import platform_status


class Command(BaseCommand):
    help = (
        "Show which PostgreSQL and Redis this host reaches and whether a Celery worker "
        "answers, and whether the database role is the application's; exit non-zero if one is "
        "down, or with RISKPLATFORM_ENV=production if a development server is in use or the "
        "role may do more than the application's should."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--timeout", type=float, default=3.0)

    def handle(self, *args, timeout: float, **options) -> None:
        checks = platform_status(worker_timeout=timeout)
        marks = {
            "ok": self.style.SUCCESS("ok  "),
            "down": self.style.ERROR("DOWN"),
            "warn": self.style.WARNING("WARN"),
        }
        for check in checks:
            self.stdout.write(f"{marks[check.state]} {check.name}: {check.detail}")
        if any(check.state == "down" for check in checks):
            raise CommandError("one or more services are down")
        warned = {check.name for check in checks if check.state == "warn"}
        if settings.RISKPLATFORM_ENV == "production" and "development servers" in warned:
            raise CommandError("RISKPLATFORM_ENV=production but development servers are in use")
        if settings.RISKPLATFORM_ENV == "production" and "database role" in warned:
            raise CommandError(
                "RISKPLATFORM_ENV=production but the database role can do more than the "
                "application's should"
            )
