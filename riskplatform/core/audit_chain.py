"""Walk the hash chains of audit_log and access_log (core migration 0012).

Each row's row_hash must be sha256(previous row's row_hash || the row's content), rows must
follow each other without a gap in chain_seq from 1, and the last row must be the chain head
the insert trigger keeps. The first row where that fails is named: a row changed after its
insert (its own hash no longer matches), a row removed (the next one's link is broken), a row
added with the trigger off (chain_seq 0 or out of line), or rows removed at the end (the
head is ahead of the table). Only a writer who also rewrote every later hash and the head
could hide a change: keep the printed head somewhere else to catch that too.
"""

from dataclasses import dataclass

from django.db import connection, transaction

GENESIS = "0" * 64
CHAINS = {"audit_log": "log_id", "access_log": "event_id"}

# One pass in chain order; the window gives each row its predecessor's stored hash.
_FIRST_BREAK = """
SELECT chain_seq, row_id, row_hash, expected, previous_seq FROM (
    SELECT t.chain_seq, t.{key} AS row_id, t.row_hash,
           log_chain_hash(coalesce(lag(t.row_hash) OVER w, %(genesis)s), {table}_chain_content(t))
               AS expected,
           coalesce(lag(t.chain_seq) OVER w, 0) AS previous_seq
    FROM {table} t WINDOW w AS (ORDER BY t.chain_seq)
) links
WHERE row_hash IS DISTINCT FROM expected OR chain_seq <> previous_seq + 1
ORDER BY chain_seq LIMIT 1
"""


@dataclass(frozen=True)
class ChainReport:
    table: str
    rows: int
    head_seq: int
    head_hash: str
    broken_row: int | None = None  # the row's id (log_id, event_id)
    broken_seq: int | None = None
    expected: str | None = None
    stored: str | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return not self.reason

    def line(self) -> str:
        if self.intact:
            return f"{self.table}: intact: {self.rows} rows (head {self.head_seq} {self.head_hash})"
        where = f" at row {self.broken_row} (chain_seq {self.broken_seq})"
        where = where if self.broken_row else ""
        hashes = f": expected {self.expected}, stored {self.stored}" if self.expected else ""
        return f"{self.table}: BROKEN{where}: {self.reason}{hashes}"


def chain_verify(table: str) -> ChainReport:
    """Verify one log's chain; read-only, so the application's role may run it."""
    key = CHAINS[table]
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if outermost:  # one snapshot for the head and the walk
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SET LOCAL statement_timeout = 0")  # the walk reads every row
        cursor.execute(
            "SELECT last_seq, last_hash FROM log_chain_heads WHERE table_name = %s", [table]
        )
        head_seq, head_hash = cursor.fetchone() or (0, GENESIS)
        cursor.execute(f"SELECT count(*), max(chain_seq) FROM {table}")  # noqa: S608
        rows, last_seq = cursor.fetchone()
        cursor.execute(_FIRST_BREAK.format(table=table, key=key), {"genesis": GENESIS})
        broken = cursor.fetchone()
        if broken:
            seq, row_id, stored, expected, previous_seq = broken
            if stored == expected and seq != previous_seq + 1:
                reason = (f"chain_seq {seq} follows {previous_seq}: rows removed or added "
                          "outside the trigger")  # fmt: skip
            elif seq != previous_seq + 1:
                reason = f"chain_seq {seq} follows {previous_seq} and the link does not match"
            else:
                reason = "the row does not match its hash (changed after its insert)"
            return ChainReport(table, rows, head_seq, head_hash, row_id, seq, expected,
                               stored, reason)  # fmt: skip
        last_hash = GENESIS
        if last_seq:
            cursor.execute(f"SELECT row_hash FROM {table} WHERE chain_seq = %s", [last_seq])  # noqa: S608
            last_hash = cursor.fetchone()[0]
        if (last_seq or 0, last_hash) != (head_seq, head_hash):
            return ChainReport(
                table, rows, head_seq, head_hash, expected=head_hash, stored=last_hash,
                reason=f"the chain head is at {head_seq} but the last row is at "
                f"{last_seq or 0}: rows removed from the end",
            )  # fmt: skip
        return ChainReport(table, rows, head_seq, head_hash)


def chains_verify() -> list[ChainReport]:
    return [chain_verify(table) for table in CHAINS]
