"""Create or update the platform's two database roles and their grants (idempotent).

    DATABASE_URL=postgres://riskplatform_app:APP_PW@db/riskplatform \\
    DATABASE_MIGRATE_URL=postgres://riskplatform_owner:OWNER_PW@db/riskplatform \\
        manage.py db_roles --admin-url postgres://postgres@db/postgres

The roles, passwords and database are the ones the two URLs name; --admin-url is a superuser
(a DBA's login). It creates the database when missing, hands the database, the schema and
everything in it to the owner, gives the application role its privileges, and then checks,
connected as the application role, that it can do no more. --print-sql prints the same
statements as a psql script for a DBA who prefers to run them, and changes nothing.
"""

import os

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from psycopg import sql

from riskplatform.core.db_roles import (
    Role,
    Roles,
    cluster_roles_sql,
    connection_role_problems,
    roles_setup,
    script,
    url_role,
)


def _platform_roles() -> Roles:
    if not settings.DATABASE_MIGRATE_URL:
        raise CommandError("set DATABASE_MIGRATE_URL to the owner role's URL (the application's "
                           "role is DATABASE_URL's)")  # fmt: skip
    db = settings.DATABASES["default"]
    owner, database = url_role(settings.DATABASE_MIGRATE_URL)
    app = Role(db["USER"], db["PASSWORD"] or None)
    if database != db["NAME"]:
        raise CommandError(f"DATABASE_URL names database {db['NAME']!r} and DATABASE_MIGRATE_URL "
                           f"{database!r}: both must name the platform's database")  # fmt: skip
    if not app.name or app.name == owner.name:
        raise CommandError("DATABASE_URL and DATABASE_MIGRATE_URL must name two different roles")
    return Roles(database=database, owner=owner, app=app)


class Command(BaseCommand):
    help = __doc__.splitlines()[0]
    requires_system_checks = []  # the roles may not be usable yet

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--admin-url", default=os.environ.get("DATABASE_ADMIN_URL", ""),
            help="a superuser's postgres:// URL (default: $DATABASE_ADMIN_URL)",
        )  # fmt: skip
        parser.add_argument("--print-sql", action="store_true", help="print, change nothing")
        parser.add_argument(
            "--owner-createdb", action="store_true",
            help="let the owner create databases (test and benchmark databases; not production)",
        )  # fmt: skip

    def handle(self, *args, admin_url: str, print_sql: bool, owner_createdb: bool, **_) -> None:
        roles = _platform_roles()
        if print_sql:
            self.stdout.write(script(roles), ending="")
            return
        if not admin_url:
            raise CommandError("give --admin-url (or DATABASE_ADMIN_URL): a superuser's URL")
        admin, _ = url_role(admin_url)
        if admin.name in (roles.owner.name, roles.app.name):
            raise CommandError(f"{admin.name} is one of the platform's roles: use a DBA's login")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [roles.database]
            ).fetchone()
            if not exists:
                with conn.transaction():
                    for statement in cluster_roles_sql(roles, owner_createdb=owner_createdb):
                        conn.execute(statement)
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(roles.database), sql.Identifier(roles.owner.name)))  # fmt: skip
                self.stdout.write(f"created database {roles.database}")
        params = psycopg.conninfo.conninfo_to_dict(admin_url)
        with psycopg.connect(**{**params, "dbname": roles.database}) as conn:
            roles_setup(conn, roles, owner_createdb=owner_createdb)
        self.stdout.write(
            f"owner role {roles.owner.name} and application role {roles.app.name} set up in "
            f"database {roles.database}"
        )
        from django.db import connection

        with connection.cursor() as cursor:  # DATABASE_URL: the application's role
            role, problems = connection_role_problems(cursor)
        if problems:
            raise CommandError(f"the application role {role} still {'; '.join(problems)}")
        self.stdout.write(
            self.style.SUCCESS(
                f"checked as {role}: not a superuser, owns no table, cannot create in the "
                "database or schema, cannot change or empty the logs"
            )
        )
