"""Storage of the ESO archive sync state: all ``jmmctap.eso_sync_*`` SQL (sql/0040_eso_sync.sql)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from jmmctap.catalogues.eso_archive import ArchiveRow, Checkpoint
from jmmctap.errors import ConflictError

__all__ = [
    "SYNC_LOCK",
    "SyncRun",
    "advance_checkpoint",
    "finish_run",
    "handled_before",
    "latest_run",
    "latest_run_async",
    "lock_sync",
    "read_checkpoint",
    "record_exposure",
    "start_run",
]

SYNC_LOCK = "jmmctap:sync-eso"
"""Name of the session advisory lock (hashed) that one sync holds while it runs, in any process."""

_RUN_COLUMNS = sql.SQL("run_id, started_at, finished_at, status, from_mod_date, last_mod_date, added, updated,"
                       " unchanged, failed, last_error")


@dataclass(frozen=True)
class SyncRun:
    """One run of ``sync-eso`` as recorded (what ``/health`` shows)."""

    run_id: int
    started_at: datetime
    finished_at: datetime | None
    status: str
    from_mod_date: datetime | None
    last_mod_date: datetime | None
    added: int
    updated: int
    unchanged: int
    failed: int
    last_error: str | None


def lock_sync(conn: psycopg.Connection[Any]) -> None:
    """Take the sync lock for the life of the session (an autocommit connection); released when it closes.

    Raises
    ------
    ConflictError
        Another sync holds it.
    """
    row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [SYNC_LOCK]).fetchone()
    if row is None or not row[0]:
        raise ConflictError("another sync-eso is running (its database lock is held); try again when it ends")


def read_checkpoint(conn: psycopg.Connection[Any]) -> Checkpoint:
    """Where the last exposure handled stands in the archive's (last_mod_date, dp_id) order."""
    row = conn.execute("SELECT last_mod_date, last_dp_id FROM jmmctap.eso_sync_state").fetchone()
    return Checkpoint() if row is None else Checkpoint(row[0], row[1])


def start_run(conn: psycopg.Connection[Any], checkpoint: Checkpoint) -> int:
    """Mark runs left 'running' by a dead process 'interrupted', and open a new run; returns its id.

    Call with the sync lock held: no other run can then be alive.
    """
    with conn.transaction():
        conn.execute("UPDATE jmmctap.eso_sync_runs SET status = 'interrupted' WHERE status = 'running'")
        row = conn.execute("INSERT INTO jmmctap.eso_sync_runs (from_mod_date, last_mod_date) VALUES (%s, %s)"
                           " RETURNING run_id", [checkpoint.last_mod_date, checkpoint.last_mod_date]).fetchone()
    assert row is not None
    return int(row[0])


def handled_before(conn: psycopg.Connection[Any], row: ArchiveRow) -> bool:
    """True when this exposure was already handled at this same last_mod_date."""
    found = conn.execute("SELECT 1 FROM jmmctap.eso_sync_exposures WHERE dp_id = %s AND last_mod_date = %s",
                         [row.dp_id, row.last_mod_date]).fetchone()
    return found is not None


def advance_checkpoint(conn: psycopg.Connection[Any], row: ArchiveRow) -> None:
    """Move the checkpoint past an exposure without recording it again (it was handled at this date)."""
    conn.execute("UPDATE jmmctap.eso_sync_state SET last_mod_date = %s, last_dp_id = %s, updated_at = now()",
                 [row.last_mod_date, row.dp_id])


def record_exposure(conn: psycopg.Connection[Any], run_id: int, row: ArchiveRow, outcome: str,
                    error: str | None = None) -> None:
    """Record an exposure handled, advance the checkpoint past it and count it in the run.

    Runs in the caller's transaction, the one that stored the exposure: both happen or neither.
    """
    conn.execute(
        """INSERT INTO jmmctap.eso_sync_exposures (dp_id, last_mod_date, outcome, error, run_id)
           VALUES (%s, %s, %s, %s, %s)
           ON CONFLICT (dp_id) DO UPDATE SET last_mod_date = excluded.last_mod_date, outcome = excluded.outcome,
               error = excluded.error, run_id = excluded.run_id, synced_at = now()""",
        [row.dp_id, row.last_mod_date, outcome, error, run_id],
    )
    advance_checkpoint(conn, row)
    column = {"inserted": "added", "updated": "updated", "unchanged": "unchanged", "failed": "failed"}[outcome]
    conn.execute(
        sql.SQL("UPDATE jmmctap.eso_sync_runs SET {0} = {0} + 1, last_mod_date = %s,"
                " last_error = coalesce(%s, last_error) WHERE run_id = %s").format(sql.Identifier(column)),
        [row.last_mod_date, None if error is None else f"{row.dp_id}: {error}", run_id],
    )


def finish_run(conn: psycopg.Connection[Any], run_id: int, error: str | None) -> SyncRun:
    """Close the run: 'ok', or 'error' with the reason it stopped."""
    row = conn.execute(
        sql.SQL("UPDATE jmmctap.eso_sync_runs SET finished_at = now(), status = %s,"
                " last_error = coalesce(%s, last_error) WHERE run_id = %s RETURNING {}").format(_RUN_COLUMNS),
        ["ok" if error is None else "error", error, run_id],
    ).fetchone()
    assert row is not None
    return SyncRun(*row)


def latest_run(conn: psycopg.Connection[Any]) -> SyncRun | None:
    """The most recent run, if any."""
    row = conn.execute(sql.SQL("SELECT {} FROM jmmctap.eso_sync_runs ORDER BY run_id DESC LIMIT 1")
                       .format(_RUN_COLUMNS)).fetchone()
    return None if row is None else SyncRun(*row)


async def latest_run_async(conn: psycopg.AsyncConnection[Any]) -> tuple[SyncRun | None, SyncRun | None]:
    """The most recent run and the most recent successful one (for ``/health``)."""
    cursor = await conn.execute(sql.SQL(
        "(SELECT {0} FROM jmmctap.eso_sync_runs ORDER BY run_id DESC LIMIT 1) UNION ALL"
        " (SELECT {0} FROM jmmctap.eso_sync_runs WHERE status = 'ok' ORDER BY run_id DESC LIMIT 1)",
    ).format(_RUN_COLUMNS))
    rows = [SyncRun(*r) for r in await cursor.fetchall()]
    if not rows:
        return None, None
    last = rows[0]
    success = next((r for r in rows[1:] if r.status == "ok"), last if last.status == "ok" else None)
    return last, success
