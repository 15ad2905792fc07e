from django.core.management.base import BaseCommand, CommandError

from riskplatform.core.selectors import platform_status


class Command(BaseCommand):
    help = "Check PostgreSQL, Redis and the Celery workers; exit non-zero if one is down."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--timeout", type=float, default=3.0)

    def handle(self, *args, timeout: float, **options) -> None:
        status = platform_status(worker_timeout=timeout)
        for name, (ok, detail) in status.items():
            mark = self.style.SUCCESS("ok  ") if ok else self.style.ERROR("DOWN")
            self.stdout.write(f"{mark} {name}: {detail}")
        if not all(ok for ok, _ in status.values()):
            raise CommandError("one or more services are down")
