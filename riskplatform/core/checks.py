"""`manage.py check --deploy`: the application's database connection must not be able to do
what only the schema's owner may (docs/operations.md, "Security: database roles")."""

from django.core.checks import Warning
from django.db import DatabaseError, connection

from riskplatform.core.db_roles import connection_role_problems


def database_role_check(app_configs=None, databases=None, **kwargs) -> list[Warning]:
    try:
        with connection.cursor() as cursor:
            role, problems = connection_role_problems(cursor)
    except DatabaseError:
        return []  # no database to ask (a build host): nothing to say about its roles
    if not problems:
        return []
    return [
        Warning(
            f"The application's database role {role} {'; '.join(problems)}.",
            hint="Connect web, workers and beat as the application role and migrate as the "
            "owner (DATABASE_MIGRATE_URL); `manage.py db_roles` sets both up "
            '(docs/operations.md, "Security: database roles").',
            id="riskplatform.W001",
        )
    ]
