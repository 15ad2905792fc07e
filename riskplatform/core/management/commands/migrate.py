"""Django's migrate (as django_pgviews extends it), without the session timeouts.

Every session starts with DB_STATEMENT_TIMEOUT and DB_IDLE_IN_TRANSACTION_TIMEOUT (settings),
which protect the platform from a runaway query or a stuck transaction. A migration may
legitimately run long (an index on a large table, a data migration computing in Python between
statements), so this command lifts both for its own sessions and restores them afterwards.
"""

import contextlib
from collections.abc import Iterator

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.signals import connection_created
from django_pgviews.management.commands.migrate import Command as PgViewsMigrateCommand

UNLIMITED = (
    "SET statement_timeout = 0",
    "SET idle_in_transaction_session_timeout = 0",
)
RESTORE = (
    "RESET statement_timeout",
    "RESET idle_in_transaction_session_timeout",
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


class Command(PgViewsMigrateCommand):
    def handle(self, *args, **options):
        with session_timeouts_lifted(options["database"]):
            return super().handle(*args, **options)
