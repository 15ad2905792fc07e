"""The suite runs as the application role, the way production does (docs/operations.md,
"Security: database roles").

pytest-django creates and migrates the test database as the owner; then the suite's
connection is the application role for every test. Where the owner comes from:

- DATABASE_MIGRATE_URL (the development launcher sets it for the embedded PostgreSQL: the
  roles riskplatform_owner and riskplatform_app);
- otherwise DATABASE_URL must be a superuser's (CI's PostgreSQL 15): the suite creates two
  roles of the test database's own, <test database>_owner and <test database>_app, with
  fresh passwords, so that suites of other databases on the same server never share them.

Test infrastructure that legitimately needs the owner switches to it for its own work only:
the flush between transactional tests (TRUNCATE of every table, the logs included, and the
post-migrate view sync). The owner's URL for the test database is exported as
DATABASE_MIGRATE_URL, so that a platform started by a test migrates as the owner too.
"""

import contextlib
import os
import secrets
from collections.abc import Iterator

import dj_database_url
import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections, transaction

from riskplatform.core.db import database_url
from riskplatform.core.db_roles import (
    Role,
    Roles,
    cluster_roles_sql,
    connection_as,
    database_roles_sql,
    grants_apply,
    url_role,
)

_state: dict = {}


def _admin_conninfo() -> dict:
    db = settings.DATABASES["default"]
    return {"host": db["HOST"] or None, "port": db["PORT"] or None, "user": db["USER"],
            "password": db["PASSWORD"] or None, "dbname": "postgres"}  # fmt: skip


def suite_roles_prepare() -> None:
    """Find or make the owner and the application role for the test database; connect the
    default connection as the owner (pytest-django then creates and migrates as it)."""
    db = connection.settings_dict
    test_database = connection.creation._get_test_db_name()
    app = Role(db["USER"], db["PASSWORD"] or None)
    host, port = db["HOST"], db["PORT"]
    if settings.DATABASE_MIGRATE_URL:
        owner, _ = url_role(settings.DATABASE_MIGRATE_URL)
        parsed = dj_database_url.parse(settings.DATABASE_MIGRATE_URL)
        host, port = parsed["HOST"], parsed["PORT"]
    else:
        with psycopg.connect(**_admin_conninfo(), autocommit=True) as conn:
            if not conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
                                ).fetchone()[0]:  # fmt: skip
                pytest.exit(
                    "The suite connects as the application role: give DATABASE_MIGRATE_URL "
                    "(the owner) or a superuser's DATABASE_URL, from which it makes both roles.",
                    returncode=2,
                )
            base = test_database[:50]
            owner = Role(f"{base}_owner", secrets.token_urlsafe(18))
            app = Role(f"{base}_app", secrets.token_urlsafe(18))
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('riskplatform db_roles'))")
                for statement in cluster_roles_sql(
                    Roles(test_database, owner, app), owner_createdb=True
                ):
                    conn.execute(statement)
    _state.update(roles=Roles(test_database, owner, app), host=host, port=port)
    connection.close()
    db.update(USER=owner.name, PASSWORD=owner.password or "", HOST=host, PORT=port)
    # migrate's own check: the owner's URL names the database being migrated.
    settings.DATABASE_MIGRATE_URL = _url(owner, host, port, test_database)


def _url(role: Role, host, port, database: str) -> str:
    return database_url({"USER": role.name, "PASSWORD": role.password, "HOST": host,
                         "PORT": port, "NAME": database})  # fmt: skip


def suite_connect_as_app() -> None:
    """After the test database exists (as the owner): its grants, then the application role
    for the rest of the session."""
    roles: Roles = _state["roles"]
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in database_roles_sql(roles):
            cursor.cursor.execute(statement)
        grants_apply(cursor, app=roles.app.name)
    connection.close()
    connection.settings_dict.update(USER=roles.app.name, PASSWORD=roles.app.password or "")
    os.environ["DATABASE_MIGRATE_URL"] = settings.DATABASE_MIGRATE_URL
    # Processes a test starts (workers, web) connect as the application role too.
    os.environ["DATABASE_URL"] = database_url()


def suite_connect_as_owner() -> None:
    """For the test database's teardown."""
    roles: Roles = _state["roles"]
    connection.close()
    connection.settings_dict.update(USER=roles.owner.name, PASSWORD=roles.owner.password or "")


def suite_roles() -> Roles:
    return _state["roles"]


@contextlib.contextmanager
def as_owner(alias: str = "default") -> Iterator[None]:
    """Django's connection as the test database's owner for the block (not in a transaction)."""
    roles: Roles = _state["roles"]
    with connection_as(connections[alias], roles.owner, host=_state["host"], port=_state["port"]):
        yield


def owner_connect(**kwargs) -> psycopg.Connection:
    """A separate psycopg connection to the test database as its owner."""
    kwargs.setdefault("autocommit", True)
    return psycopg.connect(settings.DATABASE_MIGRATE_URL, **kwargs)


@contextlib.contextmanager
def constraint_dropped(table: str, name: str) -> Iterator[psycopg.Connection]:
    """A database from before the CHECK `name` of `table`: the owner drops it for the block
    (which may write rows it would refuse, through the owner connection it is given, and
    must undo them) and adds it back afterwards."""
    with owner_connect() as owner:
        definition = owner.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s", [name]
        ).fetchone()[0]
        owner.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        try:
            yield owner
        finally:
            owner.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")


def flush_as_owner(handle):
    """Wrap the flush command: TRUNCATE of the logs and the view sync are the owner's."""

    def flush(self, **options):
        with as_owner(options.get("database", "default")):
            return handle(self, **options)

    return flush
