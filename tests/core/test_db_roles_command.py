"""`manage.py db_roles` on a hospital's server: a database migrated earlier by a superuser
(every table its) becomes the owner role's, the application role gets its grants and no
more, twice over without harm; `--print-sql` gives a DBA the same as a psql script; then
migrate runs as the owner and the copied chains still verify."""

import os
import subprocess
import sys

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from riskplatform.core.db_roles import connection_role_problems
from riskplatform.drills.postgres import BIN


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_db_roles_hands_a_superusers_schema_to_the_owner_and_grants_the_app(private_postgres):
    port = private_postgres.port
    url = f"postgres://{{}}@127.0.0.1:{port}/riskplatform"
    env = {
        **os.environ,
        "DATABASE_URL": url.format("hospital_app:app-secret"),
        "DATABASE_MIGRATE_URL": url.format("hospital_owner:owner-secret"),
        "RISKPLATFORM_EMBEDDED": "",
    }
    admin = f"postgres://postgres@127.0.0.1:{port}/postgres"
    for _ in range(2):  # idempotent
        done = _manage("db_roles", "--admin-url", admin, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.splitlines() == [
            "owner role hospital_owner and application role hospital_app set up in database "
            "riskplatform",
            "checked as hospital_app: not a superuser, owns no table, cannot create in the "
            "database or schema, cannot change or empty the logs",
        ]
    with private_postgres.connect() as conn:
        owners = conn.execute(
            "SELECT DISTINCT relowner::regrole::text FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'm', 'v', 'S')"
        ).fetchall()
        assert owners == [("hospital_owner",)]
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as app, app.cursor() as cursor:
        assert connection_role_problems(cursor) == ("hospital_app", [])
        cursor.execute("INSERT INTO access_log (username, action, report, patient_uuids, "
                       "patient_count, path) VALUES ('u', 'EXPORT', '', '{}', 0, '')")  # fmt: skip

    migrated = _manage("migrate", "--no-input", env=env)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    verified = _manage("audit_verify", env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "access_log: intact: 1 rows" in verified.stdout

    script = _manage("db_roles", "--print-sql", env=env)
    assert script.returncode == 0, script.stderr
    assert "PASSWORD :'app_password'" in script.stdout and "app-secret" not in script.stdout
    ran = subprocess.run(  # noqa: S603
        [str(BIN / "psql"), "--no-psqlrc", "-q", "-v", "ON_ERROR_STOP=1", "-v",
         "owner_password=owner-secret", "-v", "app_password=app-secret",
         "--dbname", private_postgres.url],
        input=script.stdout, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr


def test_migrate_refuses_a_migrate_url_of_another_database(settings):
    settings.DATABASE_MIGRATE_URL = "postgres://someone@localhost/elsewhere"
    with pytest.raises(CommandError, match="both URLs must name the same database"):
        call_command("migrate", verbosity=0)
