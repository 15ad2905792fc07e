from django.core.management.base import BaseCommand


class ModelVersionCommand(BaseCommand):
    """A command whose --version names a model version (replacing Django's --version, which
    prints the Django version)."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)
