from django.core.management.base import CommandError

from predictions.reevaluation import PromotionRefused, model_version_reinstate
from riskplatform.core.actors import cli_actor
from riskplatform.core.commands import ModelVersionCommand


class Command(ModelVersionCommand):
    help = "Roll back to a retired model version (its artifact is reinstated under a new label)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--version", required=True, help="the retired version to bring back")

    def handle(self, *args, version: str, **options) -> None:
        try:
            active = model_version_reinstate(version=version, changed_by=cli_actor())
        except PromotionRefused as refused:
            raise CommandError(str(refused)) from refused
        self.stdout.write(f"{version} is back as {active.version} (active); views refreshed.")
