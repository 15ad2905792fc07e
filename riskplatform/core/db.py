from urllib.parse import quote

from django.db import connection


def tables_analyze(*tables: str) -> None:
    """Refresh the planner's statistics after a bulk write. Without them PostgreSQL plans
    for the table's old size (autovacuum catches up only later) and can pick a nested loop
    of sequential scans over 100,000 fresh rows.

    Through platform_tables_analyze (core migration 0011), which runs ANALYZE as the tables'
    owner: the application's role owns nothing, and PostgreSQL 15 skips a non-owner's ANALYZE
    with only a WARNING."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT platform_tables_analyze(%s::text[])", [list(tables)])


def table_rows_estimate(table: str) -> int:
    """The planner's row count for `table` (0 when it has never been analysed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass",
            [table],
        )
        return cursor.fetchone()[0]


class GrowthAnalyzer:
    """ANALYZE tables again once a bulk writer has added more rows than they held at the last
    ANALYZE, as autovacuum would, but without waiting for it: the writer's own next queries
    need the new statistics. Costs a logarithmic number of ANALYZE runs per load."""

    def __init__(self, *tables: str, minimum: int = 20000) -> None:
        self.tables, self.minimum = tables, minimum
        self.known = table_rows_estimate(tables[0])
        self.added = 0

    def added_rows(self, count: int) -> None:
        self.added += count
        if self.added > max(self.minimum, self.known):
            tables_analyze(*self.tables)
            self.known = table_rows_estimate(self.tables[0])
            self.added = 0


def database_url(db: dict | None = None) -> str:
    """A URL for the database this process is connected to (for child processes), or for the
    one a settings dict (USER, PASSWORD, HOST, PORT, NAME) names."""
    db = db or connection.settings_dict
    host = quote(db["HOST"] or "", safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{host}{port}/{db['NAME']}"
