"""Job workers: claim QUEUED jobs, run them, record the backend pid, stop them at once when aborted.

A worker process (``serve`` with ``async_workers`` > 0, or ``jmmctap worker``) registers one worker id,
holds its advisory lock on the listener connection (``uws.store.listen``) and heartbeats; its ``slots``
loops each run one job at a time. A loop sleeps on the ``uws_queue`` notification, never on a timer
(the long timeout is only a safety net for notifications lost during a reconnection).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable

import anyio

from jmmctap.errors import JmmctapError
from jmmctap.uws.events import JobEvents, PhaseWatch
from jmmctap.uws.joblog import log_transition
from jmmctap.uws.models import ExecutionPhase, Job, JobError, JobResult, JobStateError
from jmmctap.uws.store import JobStore

__all__ = ["HEARTBEAT_S", "Execute", "Worker"]

log = logging.getLogger(__name__)

Execute = Callable[[Job, float, Callable[[int], Awaitable[None]]], Awaitable[JobResult]]
"""Runs a job within a time limit (seconds), reporting its backend pid; see ``uws.execute.JobExecutor``."""

HEARTBEAT_S = 5.0
"""Seconds between two heartbeats of a worker process."""

_QUEUE_RECHECK_S = 60.0


class Worker:
    """The job loops of one registered worker process.

    Parameters
    ----------
    store, events
        Job storage and this process's notifications.
    execute
        Runs one job (the TAP query into the result file).
    worker_id
        Id from ``JobStore.register_worker``; its lock must be held (``listen(worker_id=...)``).
    slots
        Jobs run concurrently by this process.
    draining
        True once the process is stopping (``serve`` after SIGTERM): no new job is claimed then, and the
        jobs running are handed back when the worker is cancelled.
    """

    def __init__(self, store: JobStore, events: JobEvents, execute: Execute, worker_id: int, slots: int,
                 draining: Callable[[], bool] = lambda: False) -> None:
        self.store, self.events, self.execute = store, events, execute
        self.worker_id, self.slots, self.draining = worker_id, slots, draining

    async def run(self) -> None:
        """Heartbeat and run jobs until cancelled; jobs executing then are handed back to the queue.

        Handed back rather than finished within a grace period: a job may run for its whole execution
        duration (up to an hour), longer than any orchestrator waits after SIGTERM, and nothing of a job
        is visible before it completes, so another worker running it again from the start loses nothing.
        """
        # asyncio tasks, not an anyio group: anyio re-delivers cancellation at every await, which makes
        # psycopg give up cancelling an in-flight statement and close its pooled connection
        tasks = [asyncio.create_task(self._heartbeat())] + [
            asyncio.create_task(self._loop()) for _ in range(self.slots)
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _heartbeat(self) -> None:
        while True:
            try:
                await self.store.heartbeat(self.worker_id, socket.gethostname(), os.getpid())
            except Exception as exc:  # the database may be restarting: keep trying
                log.warning("worker %s heartbeat failed: %s", self.worker_id, exc)
            await asyncio.sleep(HEARTBEAT_S)

    async def _loop(self) -> None:
        while not self.draining():
            try:
                job = await self.store.claim(self.worker_id)
            except Exception as exc:
                log.warning("worker %s cannot claim jobs: %s", self.worker_id, exc)
                job = None
            if job is None:
                await self.events.wait_queue(timeout_s=_QUEUE_RECHECK_S)
                continue
            log_transition(job.job_id, ExecutionPhase.EXECUTING.value, job.principal,
                           worker=self.worker_id)
            await self._run_job(job)

    async def _run_job(self, job: Job) -> None:
        """Execute while watching the job's phase: ABORT or DELETE (from any process) stops it at once."""
        with self.events.watch(job.job_id) as watch:
            execution = asyncio.create_task(self._execute(job))
            stopper = asyncio.create_task(self._until_stopped(job.job_id, watch))
            try:
                await asyncio.wait({execution, stopper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopper.cancel()
                execution.cancel()
                await asyncio.gather(execution, stopper, return_exceptions=True)

    async def _until_stopped(self, job_id: str, watch: PhaseWatch) -> None:
        """Return when the job leaves EXECUTING; this task is cancelled when the job ends by itself.

        The announced phase decides; the database is read only after a listener reconnection (no phase
        announced), shielded: a task cancelled while it waits for a pooled connection can lose it.
        """
        while True:
            await watch.wait(None)
            if watch.last is not None:
                if watch.last != ExecutionPhase.EXECUTING.value:
                    return
                continue
            current = await asyncio.shield(self.store.get(job_id))
            if current is None or current.phase != ExecutionPhase.EXECUTING or current.worker_id != self.worker_id:
                return

    async def _execute(self, job: Job) -> None:
        duration = float(job.execution_duration_s)
        error: JobError
        try:
            async with asyncio.timeout(duration) as deadline:
                result = await self.execute(job, duration, self._backend_recorder(job.job_id))
        except TimeoutError:
            if deadline.expired():
                error = JobError(f"the job exceeded its execution duration of {job.execution_duration_s} s")
            else:
                error = _internal_error(job.job_id)
        except JmmctapError as exc:
            error = JobError(exc.message, exc.error_type)
        except asyncio.CancelledError:  # aborted or deleted (no-op below), or this process stops
            with anyio.CancelScope(shield=True):
                await self._hand_back(job)
            raise
        except Exception:
            error = _internal_error(job.job_id)
        else:
            # shielded: announcing COMPLETED wakes this job's stopper, which cancels this task
            await asyncio.shield(self._complete(job, result))
            return
        await asyncio.shield(self._fail(job, error))

    async def _complete(self, job: Job, result: JobResult) -> None:
        """EXECUTING → COMPLETED, logged here: the caller may be cancelled as soon as it is announced."""
        if await self.store.complete(job.job_id, self.worker_id, result):
            log_transition(job.job_id, ExecutionPhase.COMPLETED.value, job.principal,
                           rows=result.rows, bytes=result.size)

    async def _hand_back(self, job: Job) -> None:
        """EXECUTING → QUEUED for another worker, logged here; a no-op for a job aborted or deleted."""
        try:
            handed = await self.store.hand_back(job.job_id, self.worker_id)
        except Exception as exc:  # the sweeper fails it once this process has gone (DEAD_WORKER_MESSAGE)
            log.warning("job %s could not be handed back: %s", job.job_id, exc)
            return
        if handed:
            log_transition(job.job_id, ExecutionPhase.QUEUED.value, job.principal, worker=self.worker_id,
                           reason="worker stopping")

    async def _fail(self, job: Job, error: JobError) -> None:
        """EXECUTING → ERROR, logged here for the same reason."""
        if await self.store.fail(job.job_id, error, self.worker_id):
            log_transition(job.job_id, ExecutionPhase.ERROR.value, job.principal, error=error.message)

    def _backend_recorder(self, job_id: str) -> Callable[[int], Awaitable[None]]:
        async def record(pid: int) -> None:
            if not await self.store.set_backend_pid(job_id, self.worker_id, pid):
                raise JobStateError("the job was stopped before its query started")
        return record


def _internal_error(job_id: str) -> JobError:
    reference = secrets.token_hex(4)
    log.exception("job %s failed [%s]", job_id, reference)
    return JobError(f"the job failed because of an internal error (reference {reference})", "transient")
