"""Chunk leases: claim, renew, give back, and the fenced write (docs/operations.md,
"Population runs: chunks, leases and fencing").

Every time is PostgreSQL's `clock_timestamp()`, never a host's clock, so hosts with skewed
clocks agree on when a lease ends. A claim raises the chunk's fencing token; only the
holder of the current token whose lease has not expired may write the chunk, checked under
the chunk's row lock in the writing transaction itself.
"""

import os
import socket
import threading
import uuid
from dataclasses import dataclass

from django.db import connection

from predictions.models import ChunkStatus
from predictions.scoring import ChunkScored


class LeaseLost(Exception):
    """The chunk was reclaimed by another worker (or the lease ran out): do not write."""


@dataclass(frozen=True)
class Claim:
    chunk_id: int
    chunk_no: int
    run_id: int
    token: int
    holder: str
    patient_ids: list[int]
    attempts: int


def lease_holder_name(node: str | None = None) -> str:
    """node:pid:thread:random — unique per claimer, and says which process to look at (the
    Celery node name, e.g. celery@w1, where there is one; else the host name)."""
    node = node or socket.gethostname()
    return f"{node}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"[:200]


def chunk_claim(
    *, run_id: int, holder: str, lease_seconds: float, max_attempts: int
) -> Claim | None:
    """Take the run's next chunk that is waiting, or whose holder stopped renewing its
    lease; None when there is none right now. One statement, committed at once."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH next AS (
                SELECT chunk_id FROM scoring_chunks
                WHERE run_id = %(run)s AND attempts < %(max)s
                  AND ((status = 'pending' AND available_at <= clock_timestamp())
                       OR (status = 'running' AND lease_expires_at <= clock_timestamp()))
                ORDER BY chunk_no
                LIMIT 1
                FOR UPDATE SKIP LOCKED
            )
            UPDATE scoring_chunks c
               SET status = 'running', lease_holder = %(holder)s,
                   lease_expires_at = clock_timestamp() + make_interval(secs => %(lease)s),
                   fencing_token = c.fencing_token + 1, attempts = c.attempts + 1,
                   started_at = COALESCE(c.started_at, clock_timestamp())
              FROM next WHERE c.chunk_id = next.chunk_id
            RETURNING c.chunk_id, c.chunk_no, c.fencing_token, c.patient_ids, c.attempts
            """,
            {"run": run_id, "max": max_attempts, "holder": holder, "lease": lease_seconds},
        )
        row = cursor.fetchone()
    if row is None:
        return None
    chunk_id, chunk_no, token, patient_ids, attempts = row
    return Claim(chunk_id, chunk_no, run_id, token, holder, patient_ids, attempts)


def chunk_renew(*, claim: Claim, lease_seconds: float) -> bool:
    """Extend a lease still held; False once it is lost (reclaimed, or expired: a holder
    that let its lease run out may not extend it, someone may be reclaiming it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE scoring_chunks
               SET lease_expires_at = clock_timestamp() + make_interval(secs => %(lease)s)
             WHERE chunk_id = %(id)s AND fencing_token = %(token)s AND status = 'running'
               AND lease_expires_at > clock_timestamp()
            """,
            {"id": claim.chunk_id, "token": claim.token, "lease": lease_seconds},
        )
        return cursor.rowcount == 1


def chunk_fence(*, claim: Claim) -> None:
    """In the writing transaction, before any write: lock the chunk row and check that this
    claimer still holds the current token and an unexpired lease. Holding the lock until
    commit, nobody can reclaim the chunk meanwhile."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT fencing_token, status, lease_holder, lease_expires_at > clock_timestamp() "
            "FROM scoring_chunks WHERE chunk_id = %s FOR UPDATE",
            [claim.chunk_id],
        )
        token, status, holder, unexpired = cursor.fetchone()
    if (token, status, holder) != (claim.token, ChunkStatus.RUNNING, claim.holder):
        raise LeaseLost(
            f"chunk {claim.chunk_no} of run {claim.run_id} was reclaimed (token {claim.token}, "
            f"now {token}, {status}): write refused"
        )
    if not unexpired:
        raise LeaseLost(
            f"chunk {claim.chunk_no} of run {claim.run_id}: lease expired before the write "
            f"(token {claim.token}): write refused"
        )


def chunk_complete(*, claim: Claim, scored: ChunkScored) -> None:
    """Mark the fenced chunk done with its counts and advance the run's, in the writing
    transaction: the run's figures move exactly when the chunk's rows commit. The holder
    stays on the row: who wrote it."""
    values = {
        "id": claim.chunk_id,
        "run": claim.run_id,
        "patients": scored.patients,
        "predictions": len(scored.prediction_ids),
        "projections": scored.projections,
        "scoring": scored.seconds_scoring,
        "writing": scored.seconds_writing,
        "projecting": scored.seconds_projecting,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE scoring_chunks
               SET status = 'done', finished_at = clock_timestamp(), lease_expires_at = NULL,
                   error = '', patients_scored = %(patients)s,
                   predictions_written = %(predictions)s, projections_written = %(projections)s,
                   seconds_scoring = %(scoring)s, seconds_writing = %(writing)s,
                   seconds_projecting = %(projecting)s
             WHERE chunk_id = %(id)s
            """,
            values,
        )
        # Last, so the run row is locked only for the moment before commit.
        cursor.execute(
            """
            UPDATE scoring_runs
               SET patients_scored = patients_scored + %(patients)s,
                   predictions_written = predictions_written + %(predictions)s,
                   projections_written = projections_written + %(projections)s,
                   chunks_done = chunks_done + 1,
                   seconds_scoring = seconds_scoring + %(scoring)s,
                   seconds_writing = seconds_writing + %(writing)s,
                   seconds_projecting = seconds_projecting + %(projecting)s
             WHERE run_id = %(run)s
            """,
            values,
        )


def chunk_release(*, claim: Claim, error: str, backoff_seconds: float) -> bool:
    """Give a chunk back after an error, to be claimed again after the backoff (the error is
    kept on the chunk). Only the current holder can; returns whether it did."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE scoring_chunks
               SET status = 'pending', lease_holder = NULL, lease_expires_at = NULL,
                   error = %(error)s,
                   available_at = clock_timestamp() + make_interval(secs => %(backoff)s)
             WHERE chunk_id = %(id)s AND fencing_token = %(token)s AND status = 'running'
            """,
            {"id": claim.chunk_id, "token": claim.token, "error": error[:4000],
             "backoff": backoff_seconds},
        )  # fmt: skip
        return cursor.rowcount == 1


def chunks_fail_exhausted(*, run_id: int, max_attempts: int) -> int:
    """End the chunks that used up their attempts and are not held (a chunk that keeps
    failing, or whose every holder died): the run then fails, naming them."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE scoring_chunks
               SET status = 'failed', lease_holder = NULL, lease_expires_at = NULL,
                   finished_at = clock_timestamp(),
                   error = CASE WHEN error = '' THEN 'its holders stopped without finishing it'
                                ELSE error END
             WHERE run_id = %s AND attempts >= %s
               AND (status = 'pending'
                    OR (status = 'running' AND lease_expires_at <= clock_timestamp()))
            """,
            [run_id, max_attempts],
        )
        return cursor.rowcount


@dataclass(frozen=True)
class ChunkState:
    pending: int
    running: int
    live_leases: int
    done: int
    failed: int
    seconds_to_next: float | None  # until a waiting chunk or an expiring lease can be claimed

    @property
    def unfinished(self) -> int:
        return self.pending + self.running


def chunks_state(*, run_id: int) -> ChunkState:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FILTER (WHERE status = 'pending'),
                   count(*) FILTER (WHERE status = 'running'),
                   count(*) FILTER (WHERE status = 'running'
                                    AND lease_expires_at > clock_timestamp()),
                   count(*) FILTER (WHERE status = 'done'),
                   count(*) FILTER (WHERE status = 'failed'),
                   extract(epoch FROM min(CASE WHEN status = 'pending' THEN available_at
                                               WHEN status = 'running' THEN lease_expires_at
                                          END) - clock_timestamp())
            FROM scoring_chunks WHERE run_id = %s
            """,
            [run_id],
        )
        pending, running, live, done, failed, wait = cursor.fetchone()
    return ChunkState(pending, running, live, done, failed,
                      None if wait is None else max(0.0, float(wait)))  # fmt: skip
