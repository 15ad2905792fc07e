"""Django's migrate (as django_pgviews extends it), as the schema's owner, without the
session timeouts, and granting the application role its privileges afterwards.

With DATABASE_MIGRATE_URL set, migrate reconnects as that role (the owner) for its own work
and then gives DATABASE_URL's role (the application's) its privileges on whatever the
migrations created (riskplatform/core/db_roles.py). Unset, it runs as DATABASE_URL's role,
except with RISKPLATFORM_ENV=production, where it refuses: the application must not own its
tables (docs/operations.md, "Security: database roles").

Every session starts with DB_STATEMENT_TIMEOUT and DB_IDLE_IN_TRANSACTION_TIMEOUT (settings),
which protect the platform from a runaway query or a stuck transaction. A migration may
legitimately run long (an index on a large table, a data migration computing in Python between
statements), so this command lifts both for its own sessions and restores them afterwards.
"""

import contextlib
from collections.abc import Iterator

import dj_database_url
from django.conf import settings
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.signals import connection_created
from django_pgviews.management.commands.migrate import Command as PgViewsMigrateCommand

from riskplatform.core.db_roles import connection_as, grants_apply, url_role

UNLIMITED = (
    "SET statement_timeout = 0",
    "SET idle_in_transaction_session_timeout = 0",
)
RESTORE = (
    "RESET statement_timeout",
    "RESET idle_in_transaction_session_timeout",
)
PRODUCTION_REFUSAL = (
    "RISKPLATFORM_ENV=production: refusing to migrate as the application's role "
    "({role}, from DATABASE_URL). Set DATABASE_MIGRATE_URL to the URL of the schema's owner "
    'role, which runs migrations (docs/operations.md, "Security: database roles").'
)


@contextlib.contextmanager
def session_timeouts_lifted(alias: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Lift both timeouts on `alias`'s connection, and on any connection opened meanwhile
    (Django may reconnect); RESET brings back the values the session started with."""
    connection = connections[alias]

    def lift(sender, connection, **kwargs) -> None:
        if connection.alias == alias:
            with connection.cursor() as cursor:
                for statement in UNLIMITED:
                    cursor.execute(statement)

    connection_created.connect(lift, weak=False)
    try:
        if connection.connection is None:
            connection.ensure_connection()  # connection_created lifts them
        else:
            lift(None, connection)
        yield
    finally:
        connection_created.disconnect(lift)
        if connection.connection is not None and connection.is_usable():
            with connection.cursor() as cursor:
                for statement in RESTORE:
                    cursor.execute(statement)


@contextlib.contextmanager
def as_schema_owner(alias: str = DEFAULT_DB_ALIAS) -> Iterator[str | None]:
    """Reconnect `alias` as DATABASE_MIGRATE_URL's role for the block; yield the application
    role to grant to afterwards, or None when migrating as that role itself."""
    connection = connections[alias]
    app_role = connection.settings_dict["USER"]
    production = settings.RISKPLATFORM_ENV == "production"
    if not settings.DATABASE_MIGRATE_URL:
        if production:
            raise CommandError(PRODUCTION_REFUSAL.format(role=app_role))
        yield None
        return
    owner, database = url_role(settings.DATABASE_MIGRATE_URL)
    if owner.name == app_role:  # connected as the owner already (or one role for both)
        if production:
            raise CommandError(PRODUCTION_REFUSAL.format(role=app_role))
        yield None
        return
    if database != connection.settings_dict["NAME"]:
        raise CommandError(
            f"DATABASE_MIGRATE_URL names database {database!r}, the platform's connection "
            f"{connection.settings_dict['NAME']!r}: both URLs must name the same database"
        )
    if connection.in_atomic_block:
        raise CommandError(f"migrate cannot reconnect as {owner.name} inside a transaction")
    parsed = dj_database_url.parse(settings.DATABASE_MIGRATE_URL)
    with connection_as(connection, owner, host=parsed["HOST"], port=parsed["PORT"]):
        yield app_role


class Command(PgViewsMigrateCommand):
    def handle(self, *args, **options):
        alias = options["database"]
        with as_schema_owner(alias) as app_role:
            with session_timeouts_lifted(alias):
                result = super().handle(*args, **options)
            if app_role:
                # Default privileges cover tables created from now on; this covers the rest
                # (and trims what an append-only log, a view or the chain heads must not allow).
                with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
                    grants_apply(cursor, app=app_role)
        return result
