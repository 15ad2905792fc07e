from django.core.management.base import BaseCommand

from riskplatform.core.api_auth import api_client_create


class Command(BaseCommand):
    help = "Create an API client and print its token (shown only this once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")

    def handle(self, *args, name: str, **options) -> None:
        client, token = api_client_create(name=name)
        self.stdout.write(f"API client {client.name!r} created. Token (store it now):\n{token}")
