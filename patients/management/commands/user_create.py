from django.core.management.base import BaseCommand, CommandError

from patients.management.commands.role_assign import ROLES, role_arguments_add
from patients.services import user_create
from riskplatform.core.actors import cli_actor
from riskplatform.core.invitations import invitation_url, invitation_valid_days


class Command(BaseCommand):
    help = (
        "Create a user in one role (coordinator, analyst or admin) and print an invitation "
        "link with which they choose their own password."
    )

    def add_arguments(self, parser) -> None:
        role_arguments_add(parser)
        parser.add_argument("--email", default="")

    def handle(self, *args, username, role, departments, email, **options) -> None:
        if departments and role != "coordinator":
            raise CommandError("only a coordinator is assigned to departments")
        try:
            user = user_create(
                username=username, email=email, role=ROLES[role],
                department_codes=[code.upper() for code in departments], changed_by=cli_actor(),
            )  # fmt: skip
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        where = f" for {', '.join(d.upper() for d in departments)}" if departments else ""
        self.stdout.write(f"{username} is now {ROLES[role]}{where}.")
        self.stdout.write(
            f"Send them this link to choose a password (valid {invitation_valid_days():g} days, "
            f"once): {invitation_url(user=user)}"
        )
