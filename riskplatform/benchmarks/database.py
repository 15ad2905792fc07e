import contextlib
import os
from collections.abc import Iterator

from django.db import connection, transaction

from riskplatform.benchmarks.sandbox import DATABASE_VARIABLE
from riskplatform.core.db_roles import (
    Role,
    Roles,
    database_roles_sql,
    grants_apply,
    owner_connection,
)


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh, migrated database next to the configured one, dropped afterwards, so that a
    benchmark never touches real data. Its name comes from the sandbox (unique per run, and
    dropped by the sandbox too should this process die before its `finally`).

    Created, migrated and dropped by the schema's owner (DATABASE_MIGRATE_URL, when set), with
    the application role's grants: the benchmark itself runs as the application, like the
    platform."""
    settings_dict = connection.settings_dict
    original, app = settings_dict["NAME"], settings_dict["USER"]
    name = os.environ.get(DATABASE_VARIABLE) or f"{original}_benchmark"
    settings_dict["TEST"] = {**settings_dict.get("TEST", {}), "NAME": name}
    with owner_connection(connection) as switched:
        name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        if switched:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT current_user")
                owner = Role(cursor.fetchone()[0])
                for statement in database_roles_sql(Roles(name, owner, Role(app))):
                    cursor.cursor.execute(statement)
                grants_apply(cursor, app=app)
    try:
        yield name
    finally:
        with owner_connection(connection):
            connection.creation.destroy_test_db(original, verbosity=0)
