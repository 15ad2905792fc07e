import getpass

from django.core.management.base import BaseCommand

from finance.services import views_refresh


class Command(BaseCommand):
    help = "Refresh org_tier_summary, dept_risk_distribution and roi_positive_patients."

    def handle(self, *args, **options) -> None:
        timings = views_refresh(changed_by=f"cli:{getpass.getuser()}"[:50])
        for view, seconds in timings.items():
            self.stdout.write(f"{view}: refreshed concurrently in {seconds:.3f} s")
