"""The platform's two PostgreSQL roles (docs/operations.md, "Security: database roles").

- The **owner** (DATABASE_MIGRATE_URL) owns the database, the schema and every object in it,
  and runs `migrate`.
- The **application role** (DATABASE_URL: web, workers, beat) owns nothing and holds only the
  privileges the application uses: SELECT, INSERT, UPDATE, DELETE on ordinary tables;
  SELECT and INSERT only on the append-only logs; SELECT on the chain heads, the migration
  history and the views; sequences; CONNECT and TEMPORARY (the importer's staging tables)
  on the database; USAGE, not CREATE, on the schema; EXECUTE on the two SECURITY DEFINER
  functions that refresh the views and ANALYZE the platform's tables as the owner.

`roles_setup` (the `db_roles` command, the development launcher, the test suite) creates or
updates both roles from a superuser connection; `grants_apply` (run by `migrate` as the
owner after every migration) gives the application role its privileges on whatever the
migrations created. Both are idempotent.
"""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import dj_database_url
from psycopg import sql

SCHEMA = "public"
# PostgreSQL refuses the application role UPDATE, DELETE and TRUNCATE on these.
APPEND_ONLY_TABLES = ("audit_log", "access_log", "training_snapshots")
# Written only by the owner (migrations, SECURITY DEFINER triggers): SELECT for the app.
READ_ONLY_TABLES = ("log_chain_heads", "django_migrations")
TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
# SECURITY DEFINER functions the application role may call (core migration 0011).
APP_FUNCTIONS = ("platform_matview_refresh(text, boolean)", "platform_tables_analyze(text[])")
# Built-in roles that read or write server files or run programs as the server's OS user.
SERVER_ACCESS_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program")


@dataclass(frozen=True)
class Role:
    name: str
    password: str | None = None


@dataclass(frozen=True)
class Roles:
    database: str
    owner: Role
    app: Role


def url_role(url: str) -> tuple[Role, str]:
    """The role (name and password) and the database a postgres:// URL names."""
    parsed = dj_database_url.parse(url)
    return Role(parsed["USER"], parsed["PASSWORD"] or None), parsed["NAME"]


def roles_from_urls(*, app_url: str, owner_url: str) -> Roles:
    app, database = url_role(app_url)
    owner, owner_database = url_role(owner_url)
    if database != owner_database:
        raise ValueError(
            f"DATABASE_URL names database {database!r} but DATABASE_MIGRATE_URL names "
            f"{owner_database!r}: both must name the platform's database"
        )
    if not app.name or not owner.name or app.name == owner.name:
        raise ValueError("DATABASE_URL and DATABASE_MIGRATE_URL must name two different roles")
    return Roles(database=database, owner=owner, app=app)


def _ident(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def roles_sql(roles: Roles, *, owner_createdb: bool = False) -> list[sql.Composable]:
    """What a superuser runs, connected to the platform's database, to create or update both
    roles and hand the database and everything in the schema to the owner."""
    return cluster_roles_sql(roles, owner_createdb=owner_createdb) + database_roles_sql(roles)


def cluster_roles_sql(roles: Roles, *, owner_createdb: bool = False) -> list[sql.Composable]:
    """Create or update both roles (roles belong to the server, not to one database)."""
    statements: list[sql.Composable] = []
    for role, extra in ((roles.owner, "CREATEDB" if owner_createdb else "NOCREATEDB"),
                        (roles.app, "NOCREATEDB")):  # fmt: skip
        statements.append(sql.SQL(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {name}) "
            "THEN CREATE ROLE {role}; END IF; END $$"
        ).format(name=sql.Literal(role.name), role=_ident(role.name)))  # fmt: skip
        attributes = sql.SQL(
            "ALTER ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS "
            + extra
        ).format(role=_ident(role.name))
        if role.password:
            attributes += sql.SQL(" PASSWORD {}").format(sql.Literal(role.password))
        statements.append(attributes)
    # Nothing may make the application role more than itself.
    statements.append(sql.SQL(
        "DO $$ DECLARE granted record; BEGIN FOR granted IN "
        "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
        "WHERE m.member = {app}::regrole "
        "AND (r.rolname = ANY({revoked}) OR m.roleid = {owner}::regrole) "
        "LOOP EXECUTE format('REVOKE %I FROM %I', granted.rolname, {app_name}); END LOOP; END $$"
    ).format(app=sql.Literal(roles.app.name), owner=sql.Literal(roles.owner.name),
             app_name=sql.Literal(roles.app.name),
             revoked=sql.Literal(list(SERVER_ACCESS_ROLES))))  # fmt: skip
    return statements


def database_roles_sql(roles: Roles) -> list[sql.Composable]:
    """The database, its schema and everything in the schema to the owner; CONNECT, TEMPORARY
    and USAGE (not CREATE) to the application role."""
    owner, app = _ident(roles.owner.name), _ident(roles.app.name)
    database = _ident(roles.database)
    return [
        sql.SQL("ALTER DATABASE {} OWNER TO {}").format(database, owner),
        sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(_ident(SCHEMA), owner),
        sql.SQL("REVOKE CREATE ON DATABASE {} FROM {}").format(database, app),
        sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(database, app),
        sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(_ident(SCHEMA)),
        sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(_ident(SCHEMA), app),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(_ident(SCHEMA), app),
        _objects_to_owner_sql(roles.owner.name),
    ]


def _objects_to_owner_sql(owner: str) -> sql.Composable:
    """Hand every table, view, sequence and function of the schema to the owner (a schema
    migrated earlier by the application's role, or by a superuser). Sequences that belong
    to a table's column follow their table."""
    return sql.SQL("""
DO $$
DECLARE
    item record;
BEGIN
    FOR item IN
        SELECT c.oid::regclass AS name,
               CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                              WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind
        FROM pg_class c
        WHERE c.relnamespace = {schema}::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND c.relowner <> {owner}::regrole
          AND NOT (c.relkind = 'S' AND EXISTS (
              SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
              AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I', item.kind, item.name, {owner});
    END LOOP;
    FOR item IN
        SELECT p.oid::regprocedure AS name FROM pg_proc p
        WHERE p.pronamespace = {schema}::regnamespace AND p.proowner <> {owner}::regrole
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                          AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO %I', item.name, {owner});
    END LOOP;
END $$""").format(schema=sql.Literal(SCHEMA), owner=sql.Literal(owner))


def grants_sql(*, app: str, owner: str, existing: set[str]) -> list[sql.Composable]:
    """The application role's privileges on the schema's objects, from a clean slate, and
    the owner's default privileges so that tables created later start with the same.
    `existing`: the names of the schema's tables and views (the exceptions name tables that
    a partly migrated database may not have yet)."""
    schema, role = _ident(SCHEMA), _ident(app)
    statements = [
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema, role),
        sql.SQL("GRANT " + TABLE_PRIVILEGES + " ON ALL TABLES IN SCHEMA {} TO {}").format(
            schema, role
        ),
        sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}").format(schema, role),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema, role),
    ]
    for table in APPEND_ONLY_TABLES:
        if table in existing:
            statements.append(
                sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(_ident(table), role)
            )
    for table in READ_ONLY_TABLES:
        if table in existing:
            statements.append(
                sql.SQL("REVOKE INSERT, UPDATE, DELETE ON {} FROM {}").format(_ident(table), role)
            )
    for function in APP_FUNCTIONS:
        if function.split("(")[0] in existing:
            statements.append(
                sql.SQL("GRANT EXECUTE ON FUNCTION " + function + " TO {}").format(role)
            )
    defaults = sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} ").format(
        _ident(owner), schema
    )
    statements += [
        defaults + sql.SQL("GRANT " + TABLE_PRIVILEGES + " ON TABLES TO {}").format(role),
        defaults + sql.SQL("GRANT USAGE, SELECT ON SEQUENCES TO {}").format(role),
    ]
    return statements


_EXISTING = """
SELECT c.relname, c.relkind FROM pg_class c
WHERE c.relnamespace = %(schema)s::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
UNION ALL
SELECT p.proname, 'f' FROM pg_proc p WHERE p.pronamespace = %(schema)s::regnamespace
"""


def grants_apply(cursor, *, app: str) -> None:
    """Give `app` its privileges on what exists now; run as the owner (or a superuser), on
    a psycopg or Django cursor. Views and materialized views are readable only."""
    cursor.execute("SELECT current_user")
    (owner,) = cursor.fetchone()
    cursor.execute(_EXISTING, {"schema": SCHEMA})
    rows = cursor.fetchall()
    existing = {name for name, _ in rows}
    raw = getattr(cursor, "cursor", cursor)  # Django's wrapper does not take Composed SQL
    for statement in grants_sql(app=app, owner=owner, existing=existing):
        raw.execute(statement)
    views = [name for name, kind in rows if kind in ("v", "m")]
    for view in views:
        raw.execute(
            sql.SQL("REVOKE INSERT, UPDATE, DELETE ON {} FROM {}").format(_ident(view), _ident(app))
        )


def roles_setup(conn, roles: Roles, *, owner_createdb: bool = False) -> None:
    """Create or update both roles and their grants, on a psycopg connection of a superuser
    to the platform's database (in one transaction)."""
    with conn.transaction(), conn.cursor() as cursor:
        # Two launchers starting at once (bin/run, bin/manage) take turns.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('riskplatform db_roles'))")
        for statement in roles_sql(roles, owner_createdb=owner_createdb):
            cursor.execute(statement)
        cursor.execute(sql.SQL("SET LOCAL ROLE {}").format(_ident(roles.owner.name)))
        grants_apply(cursor, app=roles.app.name)
        cursor.execute("RESET ROLE")


def script(roles: Roles) -> str:
    """roles_sql and the owner's default privileges as one psql script for a DBA, with the
    passwords as psql variables. The grants on existing objects follow from `migrate`."""
    placeholders = Roles(
        roles.database,
        Role(roles.owner.name, "__OWNER_PASSWORD__"),
        Role(roles.app.name, "__APP_PASSWORD__"),
    )
    lines = [
        "-- riskplatform database roles. Run as a superuser, connected to the platform's",
        f"-- database ({roles.database}), then run `manage.py migrate` with DATABASE_MIGRATE_URL:",
        "--   psql -v ON_ERROR_STOP=1 -v owner_password=... -v app_password=... -f roles.sql",
        "BEGIN;",
        *(statement.as_string() + ";" for statement in roles_sql(placeholders)),
        *(
            statement.as_string() + ";"
            for statement in grants_sql(app=roles.app.name, owner=roles.owner.name, existing=set())[
                -2:
            ]
        ),
        "COMMIT;",
    ]
    text = "\n".join(lines) + "\n"
    return text.replace("'__OWNER_PASSWORD__'", ":'owner_password'").replace(
        "'__APP_PASSWORD__'", ":'app_password'"
    )


@contextlib.contextmanager
def connection_as(connection, role: Role, *, host: str | None = None, port=None) -> Iterator[None]:
    """Reconnect Django's `connection` as `role` (same database) for the block, then back.
    Not inside a transaction: the connection is closed on the way in and out."""
    if connection.in_atomic_block:
        raise RuntimeError(f"cannot switch {connection.alias!r} to role {role.name} inside a "
                           "transaction")  # fmt: skip
    keys = ("USER", "PASSWORD", "HOST", "PORT")
    saved = {key: connection.settings_dict[key] for key in keys}
    connection.close()
    connection.settings_dict.update(USER=role.name, PASSWORD=role.password or "")
    if host is not None:
        connection.settings_dict.update(HOST=host, PORT=port or "")
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


_CONNECTION_ROLE = """
SELECT current_user, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls,
       has_database_privilege(current_database(), 'CREATE'),
       has_schema_privilege(%(schema)s, 'CREATE'),
       (SELECT array_agg(c.relname ORDER BY c.relname) FROM pg_class c
        WHERE c.relnamespace = %(schema)s::regnamespace AND c.relkind IN ('r', 'p', 'm')
          AND pg_has_role(c.relowner, 'USAGE')),
       (SELECT array_agg(s.name) FROM unnest(%(server_roles)s::text[]) s(name)
        WHERE pg_has_role(s.name, 'USAGE'))
FROM pg_roles r WHERE r.rolname = current_user
"""


def connection_role_problems(cursor) -> tuple[str, list[str]]:
    """What the connection's role may do that the application's must not: (role, problems).
    Empty problems: not a superuser, owns none of the schema's tables, cannot create in the
    database or schema, cannot change or empty the logs, no server-file or program roles."""
    cursor.execute(_CONNECTION_ROLE, {"schema": SCHEMA, "server_roles": list(SERVER_ACCESS_ROLES)})
    role, superuser, createrole, createdb, bypassrls, db_create, schema_create, owned, server = (
        cursor.fetchone()
    )
    problems = []
    if superuser:
        problems.append("is a superuser")
    problems += [f"has {name}" for name, on in (("CREATEROLE", createrole),
                 ("CREATEDB", createdb), ("BYPASSRLS", bypassrls)) if on]  # fmt: skip
    if owned:
        shown = ", ".join(owned[:3]) + (f" and {len(owned) - 3} more" if len(owned) > 3 else "")
        problems.append(f"owns {len(owned)} of the platform's tables ({shown})")
    if db_create or schema_create:
        problems.append("may CREATE in the " + ("database" if db_create else "schema"))
    if server:
        problems.append(f"is a member of {', '.join(server)}")
    for table in APPEND_ONLY_TABLES:
        cursor.execute(
            "SELECT array_agg(p) FROM unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE']) p "
            "WHERE CASE WHEN to_regclass(%s) IS NULL THEN false "
            "ELSE has_table_privilege(%s, p) END",
            [table, table],
        )
        (allowed,) = cursor.fetchone()
        if allowed:
            problems.append(f"may {'/'.join(allowed)} {table}")
    return role, problems


@contextlib.contextmanager
def owner_connection(connection) -> Iterator[bool]:
    """Django's `connection` as DATABASE_MIGRATE_URL's role for the block (databases of the
    benchmarks are the owner's to create and drop); yield whether it switched. Unset, or
    already that role: nothing changes."""
    from django.conf import settings

    if not settings.DATABASE_MIGRATE_URL:
        yield False
        return
    owner, _ = url_role(settings.DATABASE_MIGRATE_URL)
    if owner.name == connection.settings_dict["USER"]:
        yield False
        return
    parsed = dj_database_url.parse(settings.DATABASE_MIGRATE_URL)
    with connection_as(connection, owner, host=parsed["HOST"], port=parsed["PORT"]):
        yield True
