"""Cancel the PostgreSQL backend running a job's query (ABORT, DELETE, dead worker).

The query runs as the SELECT-only role, and PostgreSQL lets a role cancel its own backends, so the cancel is
sent over a fresh connection of that role (not the pool: it may be exhausted by the very queries to stop).
A pooled backend may already run another query when the cancel arrives; only a statement that started
before the job was stopped is cancelled.
"""

from __future__ import annotations

import logging

import psycopg

from jmmctap.uws.models import ExecutionPhase
from jmmctap.uws.store import Stopped

__all__ = ["cancel_backend"]

log = logging.getLogger(__name__)

_CONNECT_TIMEOUT_S = 5


async def cancel_backend(query_conninfo: str, stopped: Stopped) -> bool:
    """``pg_cancel_backend`` the job's backend if it was executing; True when a statement was cancelled."""
    if stopped.previous != ExecutionPhase.EXECUTING or stopped.backend_pid is None:
        return False
    try:
        async with await psycopg.AsyncConnection.connect(
            query_conninfo, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S
        ) as conn:
            cursor = await conn.execute(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity"
                " WHERE pid = %s AND state = 'active' AND query_start <= %s",
                [stopped.backend_pid, stopped.at],
            )
            row = await cursor.fetchone()
    except psycopg.Error as exc:  # the worker still stops the query when it sees the phase change
        log.warning("cannot cancel backend %s of job %s: %s", stopped.backend_pid, stopped.job_id, exc)
        return False
    return bool(row and row[0])
