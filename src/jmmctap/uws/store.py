"""Storage layer of the UWS implementation: every SQL statement on schema ``uws``.

Each public method of ``JobStore`` is one short transaction on the owner pool (autocommit connections).
Phase changes are announced by the trigger of ``sql/0005_uws.sql`` on channel ``uws_job`` (payload
``"<job_id> <PHASE>"``, ``DELETED`` for a deletion) and, for QUEUED, on ``uws_queue``; ``listen`` delivers
them to a process. Workers claim jobs with ``FOR UPDATE SKIP LOCKED``, so any number of processes can share
one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from jmmctap.db.pools import RECONNECT_TIMEOUT_S, application_name, configure_session
from jmmctap.uws.models import ExecutionPhase, Job, JobError, JobRef, JobResult, Parameter

__all__ = [
    "CHANNEL_JOB",
    "CHANNEL_QUEUE",
    "WORKER_LOCK_CLASS",
    "JobStore",
    "Stopped",
    "listen",
    "open_job_pool",
]

log = logging.getLogger(__name__)

CHANNEL_JOB = "uws_job"
"""NOTIFY channel of phase changes; payload ``"<job_id> <PHASE>"`` or ``"<job_id> DELETED"``."""

CHANNEL_QUEUE = "uws_queue"
"""NOTIFY channel raised when a job enters QUEUED; payload the job id."""

WORKER_LOCK_CLASS = 0x75777300
"""First key of the session advisory lock ``(WORKER_LOCK_CLASS, worker_id)`` a live worker process holds."""

_RECONNECT_S = 1.0

_ACTIVE = ["PENDING", "QUEUED", "EXECUTING", "HELD", "SUSPENDED"]

_JOB_SELECT = """
SELECT j.job_id, j.phase, j.run_id, j.owner_id, j.owner_groups, j.creation_time, j.start_time, j.end_time,
       j.execution_duration, j.destruction, j.quote, j.error_message, j.error_type, j.error_detail,
       j.result_mime, j.result_size, j.result_rows, j.result_overflow, j.worker_id, j.backend_pid,
       ARRAY(SELECT p.name FROM uws.parameter p WHERE p.job_id = j.job_id ORDER BY p.position) AS param_names,
       ARRAY(SELECT p.value FROM uws.parameter p WHERE p.job_id = j.job_id ORDER BY p.position) AS param_values,
       ARRAY(SELECT u.name FROM uws.upload_file u WHERE u.job_id = j.job_id ORDER BY u.name) AS upload_files
FROM uws.job j
"""

_DEAD_WORKER = """
    j.worker_id IS NULL
    OR NOT EXISTS (SELECT 1 FROM uws.worker w
                   WHERE w.worker_id = j.worker_id AND w.heartbeat > now() - make_interval(secs => %(stale)s::float8))
    OR NOT EXISTS (SELECT 1 FROM pg_locks l
                   WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %(lock_class)s::oid
                     AND l.objid = j.worker_id::oid AND l.objsubid = 2)
"""


_HAND_BACK = "UPDATE uws.job SET phase = 'QUEUED', start_time = NULL, worker_id = NULL, backend_pid = NULL"
"""A job handed back keeps its ``queued_time``, so it is claimed before the jobs queued after it."""


@dataclass(frozen=True)
class Stopped:
    """A job taken out of execution (aborted, deleted, failed by the sweeper): what to cancel."""

    job_id: str
    previous: ExecutionPhase
    backend_pid: int | None
    at: datetime
    """Database time of the change: only a query started before it may be cancelled (pid reuse)."""


Pool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]


async def open_job_pool(conninfo: str, size: int) -> Pool:
    """The store's pool: owner connections in autocommit, committing durably by default.

    What a client was told (a ``303`` after a creation, a phase change, a deletion; a phase it can read)
    waits for its WAL flush, so it survives a PostgreSQL crash. Only bookkeeping whose loss is repaired
    by itself skips that wait (``synchronous_commit = off`` in ``_lossy``): claiming a job (a lost claim
    leaves it QUEUED, to be claimed again), its backend pid, worker registration and heartbeats. A later
    durable commit flushes these too, since the WAL is written in order.
    """
    pool: Pool = AsyncConnectionPool(
        conninfo, min_size=1, max_size=size, open=False, name="uws", configure=configure_session, timeout=10,
        reconnect_timeout=RECONNECT_TIMEOUT_S,
        kwargs={"autocommit": True, "application_name": application_name("uws")},
    )
    await pool.open(wait=True, timeout=15)
    return pool


class JobStore:
    """Jobs, parameters, upload files and workers in schema ``uws``.

    Parameters
    ----------
    pool
        The owner pool (autocommit connections); the query role has no privilege on ``uws``.
    """

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection whose return cannot be interrupted.

        A task cancelled while ``pool.connection()`` gives the connection back loses it for good (a worker
        finishing a job is cancelled that way when its own completion is announced); eight such losses
        exhaust the pool. The return runs shielded.
        """
        conn = await self._pool.getconn()
        try:
            yield conn
        finally:
            await asyncio.shield(self._pool.putconn(conn))

    @contextlib.asynccontextmanager
    async def _lossy(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A transaction whose commit does not wait for the WAL flush: only for what may be lost in a crash."""
        async with self._connection() as conn, conn.transaction():
            await conn.execute("SET LOCAL synchronous_commit = off")
            yield conn

    # -- jobs seen by clients ------------------------------------------------------------------

    async def insert(self, job: Job, upload_sizes: Sequence[tuple[str, int]] = ()) -> None:
        """Create ``job`` (PENDING, or QUEUED when run at creation) with its parameters and upload files."""
        async with self._connection() as conn:  # one statement: one round trip, atomic
            await conn.execute(
                "WITH job AS ("
                "  INSERT INTO uws.job (job_id, run_id, owner_id, owner_groups, phase, creation_time, queued_time,"
                "                       execution_duration, destruction, quote)"
                "  VALUES (%(id)s, %(run)s, %(owner)s, %(groups)s, %(phase)s, %(created)s,"
                "          CASE WHEN %(phase)s = 'QUEUED' THEN now() END, %(duration)s, %(destruction)s, %(quote)s)"
                "  RETURNING job_id),"
                " params AS ("
                "  INSERT INTO uws.parameter (job_id, position, name, value)"
                "  SELECT job.job_id, p.ord - 1, p.name, p.value"
                "  FROM job, unnest(%(names)s::text[], %(values)s::text[]) WITH ORDINALITY AS p(name, value, ord))"
                " INSERT INTO uws.upload_file (job_id, name, size)"
                " SELECT job.job_id, u.name, u.size"
                " FROM job, unnest(%(files)s::text[], %(sizes)s::bigint[]) AS u(name, size)",
                {"id": job.job_id, "run": job.run_id, "owner": job.owner_id, "groups": sorted(job.owner_groups),
                 "phase": job.phase.value,
                 "created": job.creation_time, "duration": job.execution_duration_s, "destruction": job.destruction,
                 "quote": job.quote, "names": [p.name for p in job.parameters],
                 "values": [p.value for p in job.parameters], "files": [name for name, _ in upload_sizes],
                 "sizes": [size for _, size in upload_sizes]},
            )

    async def get(self, job_id: str) -> Job | None:
        """The job, or None when it does not exist (anymore)."""
        async with self._connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(_JOB_SELECT + " WHERE j.job_id = %s", [job_id])
            row = await cursor.fetchone()
        return None if row is None else _convert_job(row)

    async def list_jobs(
        self, owner_id: str, phases: Sequence[ExecutionPhase] = (), after: datetime | None = None,
        last: int | None = None,
    ) -> list[JobRef]:
        """The owner's jobs, newest first, filtered as UWS §2.2.2.1 says (ARCHIVED only when asked for)."""
        async with self._connection() as conn:
            cursor = await conn.execute(
                "SELECT job_id, phase, run_id, owner_id, creation_time FROM uws.job"
                " WHERE owner_id = %(owner)s"
                "   AND (CASE WHEN %(phases)s::text[] IS NULL THEN phase <> 'ARCHIVED'"
                "        ELSE phase = ANY(%(phases)s::text[]) END)"
                "   AND (%(after)s::timestamptz IS NULL OR creation_time > %(after)s::timestamptz)"
                " ORDER BY creation_time DESC, job_id LIMIT %(last)s",
                {"owner": owner_id, "phases": [p.value for p in phases] or None, "after": after, "last": last},
            )
            rows = await cursor.fetchall()
        return [JobRef(r[0], ExecutionPhase(r[1]), r[2], r[3], r[4]) for r in rows]

    async def add_parameters(
        self, job_id: str, parameters: Sequence[Parameter], upload_sizes: Sequence[tuple[str, int]] = (),
        replace: Sequence[str] = (),
    ) -> ExecutionPhase | None:
        """Add parameters if the job is PENDING; return the phase found (None: no such job).

        The earlier values of the ``replace`` names are dropped first; a new ``RUNID`` becomes the runId.
        """
        async with self._connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "SELECT phase, (SELECT coalesce(max(position), -1) + 1 FROM uws.parameter p"
                " WHERE p.job_id = j.job_id) FROM uws.job j WHERE job_id = %s FOR UPDATE", [job_id],
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            phase = ExecutionPhase(row[0])
            if phase == ExecutionPhase.PENDING:
                if replace:
                    await conn.execute("DELETE FROM uws.parameter WHERE job_id = %s AND name = ANY(%s)",
                                       [job_id, list(replace)])
                run_ids = [p.value for p in parameters if p.name == "RUNID"]
                if run_ids:
                    await conn.execute("UPDATE uws.job SET run_id = %s WHERE job_id = %s", [run_ids[-1], job_id])
                await self._add_parameters(conn, job_id, parameters, upload_sizes, first=row[1])
            return phase

    async def set_execution_duration(self, job_id: str, seconds: int) -> ExecutionPhase | None:
        """Change the execution duration of a PENDING job; return the phase found."""
        return await self._update_if(
            job_id, "execution_duration = %(value)s, quote = creation_time + make_interval(secs => %(value)s::integer)",
            seconds, only_phase=ExecutionPhase.PENDING,
        )

    async def set_destruction(self, job_id: str, when: datetime) -> ExecutionPhase | None:
        """Change the destruction instant (any phase); return the phase found."""
        return await self._update_if(job_id, "destruction = %(value)s", when, only_phase=None)

    async def queue(self, job_id: str) -> ExecutionPhase | None:
        """PENDING or HELD → QUEUED (wakes the workers); return the phase found before."""
        async with self._connection() as conn, conn.transaction():
            phase = await _lock_phase(conn, job_id)
            if phase in (ExecutionPhase.PENDING, ExecutionPhase.HELD):
                await conn.execute(
                    "UPDATE uws.job SET phase = 'QUEUED', queued_time = now() WHERE job_id = %s", [job_id]
                )
            return phase

    async def abort(self, job_id: str) -> Stopped | None:
        """Move an unfinished job to ABORTED; None when there is no such job."""
        async with self._connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "SELECT phase, backend_pid, clock_timestamp() FROM uws.job WHERE job_id = %s FOR UPDATE", [job_id]
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            if row[0] in _ACTIVE:
                await conn.execute(
                    "UPDATE uws.job SET phase = 'ABORTED', end_time = now(), backend_pid = NULL WHERE job_id = %s",
                    [job_id],
                )
            return Stopped(job_id, ExecutionPhase(row[0]), row[1], row[2])

    async def delete(self, job_id: str, owner_id: str | None = None) -> Stopped | None:
        """Forget the job if ``owner_id`` may (its owner's, or an anonymous one); None when there is no such job.

        Its parameters go with it.
        """
        async with self._connection() as conn:
            cursor = await conn.execute(
                "DELETE FROM uws.job WHERE job_id = %s AND (owner_id IS NULL OR owner_id = %s)"
                " RETURNING job_id, phase, backend_pid, clock_timestamp()",
                [job_id, owner_id],
            )
            row = await cursor.fetchone()
        return None if row is None else Stopped(row[0], ExecutionPhase(row[1]), row[2], row[3])

    # -- workers --------------------------------------------------------------------------------

    async def register_worker(self, host: str, os_pid: int) -> int:
        """A new worker id; the process must then hold its lock (``listen(worker_id=...)``)."""
        async with self._lossy() as conn:
            cursor = await conn.execute(
                "INSERT INTO uws.worker (host, os_pid) VALUES (%s, %s) RETURNING worker_id", [host, os_pid]
            )
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def heartbeat(self, worker_id: int, host: str, os_pid: int) -> None:
        """Record that the worker process is alive (re-creating its row if a sweeper removed it)."""
        async with self._lossy() as conn:
            await conn.execute(
                "INSERT INTO uws.worker (worker_id, host, os_pid) VALUES (%s, %s, %s)"
                " ON CONFLICT (worker_id) DO UPDATE SET heartbeat = now()",
                [worker_id, host, os_pid],
            )

    async def unregister_worker(self, worker_id: int) -> list[str]:
        """Forget a worker that stops cleanly, handing back the jobs it still executes; return their ids.

        Its job loops hand back their own jobs when stopped (``hand_back``); this catches a claim that
        committed as a loop was being cancelled. One transaction, committed durably (clients read phases).
        """
        async with self._connection() as conn, conn.transaction():
            cursor = await conn.execute(_HAND_BACK + " WHERE worker_id = %s AND phase = 'EXECUTING' RETURNING job_id",
                                        [worker_id])
            handed = [r[0] for r in await cursor.fetchall()]
            await conn.execute("DELETE FROM uws.worker WHERE worker_id = %s", [worker_id])
        return handed

    async def hand_back(self, job_id: str, worker_id: int) -> bool:
        """EXECUTING (by ``worker_id``) → QUEUED, first in the queue again: its worker stops (SIGTERM, restart).

        Another worker runs it from the start; the result being written goes with the phase change
        (``sql/0042``). False when the job was no longer executing there (aborted, deleted, finished).
        """
        async with self._connection() as conn:
            cursor = await conn.execute(_HAND_BACK + " WHERE job_id = %s AND worker_id = %s AND phase = 'EXECUTING'",
                                        [job_id, worker_id])
            return cursor.rowcount == 1

    async def claim(self, worker_id: int) -> Job | None:
        """Take the oldest QUEUED job for this worker (QUEUED → EXECUTING); None when the queue is empty."""
        async with self._lossy() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(
                "WITH j AS ("
                "  UPDATE uws.job SET phase = 'EXECUTING', start_time = now(), worker_id = %s, backend_pid = NULL"
                "  WHERE job_id = (SELECT job_id FROM uws.job WHERE phase = 'QUEUED'"
                "                  ORDER BY queued_time LIMIT 1 FOR UPDATE SKIP LOCKED)"
                "    AND phase = 'QUEUED' RETURNING *)"
                + _JOB_SELECT.replace("FROM uws.job j", "FROM j"),
                [worker_id],
            )
            row = await cursor.fetchone()
        return None if row is None else _convert_job(row)

    async def set_backend_pid(self, job_id: str, worker_id: int, pid: int | None) -> bool:
        """Record the PostgreSQL backend running the job's query; False when the job stopped executing."""
        async with self._lossy() as conn:
            cursor = await conn.execute(
                "UPDATE uws.job SET backend_pid = %s WHERE job_id = %s AND worker_id = %s AND phase = 'EXECUTING'",
                [pid, job_id, worker_id],
            )
            return cursor.rowcount == 1

    async def complete(self, job_id: str, worker_id: int, result: JobResult) -> bool:
        """EXECUTING → COMPLETED with the result's metadata; False when the job was aborted or deleted."""
        async with self._connection() as conn:
            cursor = await conn.execute(
                "UPDATE uws.job SET phase = 'COMPLETED', end_time = now(), backend_pid = NULL,"
                " result_mime = %s, result_size = %s, result_rows = %s, result_overflow = %s"
                " WHERE job_id = %s AND worker_id = %s AND phase = 'EXECUTING'",
                [result.mime_type, result.size, result.rows, result.overflow, job_id, worker_id],
            )
            return cursor.rowcount == 1

    async def fail(self, job_id: str, error: JobError, worker_id: int | None = None) -> bool:
        """→ ERROR with ``error``: an executing job of ``worker_id``, or (no worker) a job that has not run."""
        async with self._connection() as conn:
            cursor = await conn.execute(
                "UPDATE uws.job SET phase = 'ERROR', end_time = now(), backend_pid = NULL,"
                " error_message = %s, error_type = %s, error_detail = %s"
                " WHERE job_id = %s AND CASE WHEN %s::integer IS NULL THEN phase IN ('PENDING', 'QUEUED')"
                "                       ELSE worker_id = %s AND phase = 'EXECUTING' END",
                [error.message, error.type, error.has_detail, job_id, worker_id, worker_id],
            )
            return cursor.rowcount == 1

    # -- sweeper --------------------------------------------------------------------------------

    async def fail_orphans(self, message: str, stale_after_s: float) -> list[Stopped]:
        """EXECUTING jobs whose worker is gone (lock released or heartbeat stale) → ERROR with ``message``."""
        async with self._connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "SELECT j.job_id, j.backend_pid FROM uws.job j WHERE j.phase = 'EXECUTING' AND (" + _DEAD_WORKER
                + ") FOR UPDATE OF j SKIP LOCKED",
                {"stale": stale_after_s, "lock_class": WORKER_LOCK_CLASS},
            )
            rows = await cursor.fetchall()
            if not rows:
                return []
            cursor = await conn.execute(
                "UPDATE uws.job SET phase = 'ERROR', end_time = now(), backend_pid = NULL, error_message = %s,"
                " error_type = 'transient', error_detail = true WHERE job_id = ANY(%s) RETURNING clock_timestamp()",
                [message, [r[0] for r in rows]],
            )
            at = (await cursor.fetchone() or [None])[0]
            await conn.execute(
                "DELETE FROM uws.worker w WHERE w.heartbeat < now() - make_interval(secs => %s::float8)"
                " AND NOT EXISTS (SELECT 1 FROM uws.job j WHERE j.worker_id = w.worker_id AND j.phase = 'EXECUTING')",
                [stale_after_s],
            )
        return [Stopped(r[0], ExecutionPhase.EXECUTING, r[1], at) for r in rows]

    async def delete_expired(self) -> list[Stopped]:
        """Delete the jobs whose destruction time has passed."""
        async with self._connection() as conn:
            cursor = await conn.execute(
                "DELETE FROM uws.job WHERE destruction <= now()"
                " RETURNING job_id, phase, backend_pid, clock_timestamp()"
            )
            rows = await cursor.fetchall()
        return [Stopped(r[0], ExecutionPhase(r[1]), r[2], r[3]) for r in rows]

    async def existing(self, job_ids: Sequence[str]) -> set[str]:
        """Which of ``job_ids`` still exist (to find orphaned result directories)."""
        async with self._connection() as conn:
            cursor = await conn.execute("SELECT job_id FROM uws.job WHERE job_id = ANY(%s)", [list(job_ids)])
            return {r[0] for r in await cursor.fetchall()}

    # -- helpers --------------------------------------------------------------------------------

    async def _update_if(
        self, job_id: str, assignment: str, value: object, only_phase: ExecutionPhase | None
    ) -> ExecutionPhase | None:
        async with self._connection() as conn, conn.transaction():
            phase = await _lock_phase(conn, job_id)
            if phase is not None and (only_phase is None or phase == only_phase):
                await conn.execute(
                    "UPDATE uws.job SET " + assignment + " WHERE job_id = %(job_id)s",  # assignment: our constants
                    {"value": value, "job_id": job_id},
                )
            return phase

    @staticmethod
    async def _add_parameters(
        conn: psycopg.AsyncConnection[Any], job_id: str, parameters: Sequence[Parameter],
        upload_sizes: Sequence[tuple[str, int]], first: int,
    ) -> None:
        if parameters:
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO uws.parameter (job_id, position, name, value) VALUES (%s, %s, %s, %s)",
                    [(job_id, first + i, p.name, p.value) for i, p in enumerate(parameters)],
                )
        if upload_sizes:
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO uws.upload_file (job_id, name, size) VALUES (%s, %s, %s)"
                    " ON CONFLICT (job_id, name) DO UPDATE SET size = EXCLUDED.size",
                    [(job_id, name, size) for name, size in upload_sizes],
                )


async def _lock_phase(conn: psycopg.AsyncConnection[Any], job_id: str) -> ExecutionPhase | None:
    cursor = await conn.execute("SELECT phase FROM uws.job WHERE job_id = %s FOR UPDATE", [job_id])
    row = await cursor.fetchone()
    return None if row is None else ExecutionPhase(row[0])


def _convert_job(row: dict[str, Any]) -> Job:
    result = None
    if row["result_mime"] is not None:
        result = JobResult(row["result_mime"], row["result_size"], row["result_rows"], bool(row["result_overflow"]))
    error = None
    if row["error_message"] is not None:
        error = JobError(row["error_message"], row["error_type"] or "fatal", row["error_detail"])
    return Job(
        job_id=row["job_id"],
        phase=ExecutionPhase(row["phase"]),
        run_id=row["run_id"],
        owner_id=row["owner_id"],
        owner_groups=frozenset(row["owner_groups"]),
        creation_time=row["creation_time"],
        start_time=row["start_time"],
        end_time=row["end_time"],
        execution_duration_s=row["execution_duration"],
        destruction=row["destruction"],
        quote=row["quote"],
        parameters=tuple(Parameter(n, v) for n, v in zip(row["param_names"], row["param_values"], strict=True)),
        upload_files=tuple(row["upload_files"]),
        result=result,
        error=error,
        worker_id=row["worker_id"],
        backend_pid=row["backend_pid"],
    )


async def listen(
    conninfo: str,
    on_notify: Callable[[str, str], None],
    *,
    on_ready: Callable[[], Awaitable[None]] | None = None,
    worker_id: int | None = None,
) -> None:
    """Deliver ``uws_job`` and ``uws_queue`` notifications to ``on_notify(channel, payload)`` until cancelled.

    A dedicated connection LISTENs (and, for a worker process, holds the worker's advisory lock, whose
    release tells other processes that this one died). ``on_ready`` runs after each (re)connection, when
    notifications are flowing; a lost connection is retried, and since notifications may have been missed
    meanwhile, ``on_ready`` is the place to re-check the state.
    """
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                conninfo, autocommit=True, application_name=application_name("uws-listen")
            ) as conn:
                await configure_session(conn)
                await conn.execute("LISTEN uws_job")
                await conn.execute("LISTEN uws_queue")
                if worker_id is not None:
                    await conn.execute(
                        "SELECT pg_advisory_lock(%s::integer, %s::integer)", [WORKER_LOCK_CLASS, worker_id]
                    )
                if on_ready is not None:
                    await on_ready()
                async for notify in conn.notifies():
                    on_notify(notify.channel, notify.payload)
        except psycopg.Error as exc:
            log.warning("UWS notification listener interrupted (%s); reconnecting", exc)
            await asyncio.sleep(_RECONNECT_S)
