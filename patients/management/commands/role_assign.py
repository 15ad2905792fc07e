from django.core.management.base import BaseCommand, CommandError

from patients.services import user_role_assign
from riskplatform.core.actors import cli_actor
from riskplatform.core.roles import Role

ROLES = {"coordinator": Role.COORDINATOR, "analyst": Role.ANALYST, "admin": Role.PLATFORM_ADMIN}


def role_arguments_add(parser) -> None:
    """username, role and departments: the arguments of role_assign and user_create."""
    parser.add_argument("username")
    parser.add_argument("role", choices=sorted(ROLES))
    parser.add_argument(
        "--department", action="append", default=[], dest="departments",
        help="department code (repeat for several); coordinators only",
    )  # fmt: skip


class Command(BaseCommand):
    help = (
        "Give a user one role (coordinator, analyst or admin) and, for a coordinator, departments."
    )

    def add_arguments(self, parser) -> None:
        role_arguments_add(parser)

    def handle(self, *args, username, role, departments, **options) -> None:
        from django.contrib.auth.models import User

        if departments and role != "coordinator":
            raise CommandError("only a coordinator is assigned to departments")
        try:
            user_role_assign(
                username=username, role=ROLES[role],
                department_codes=[code.upper() for code in departments], changed_by=cli_actor(),
            )  # fmt: skip
        except User.DoesNotExist as exc:
            raise CommandError(
                f"no user {username!r}; create it with: bin/manage user_create {username} {role}"
            ) from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        where = f" for {', '.join(d.upper() for d in departments)}" if departments else ""
        self.stdout.write(f"{username} is now {ROLES[role]}{where}")
