"""Assemble the UWS machinery of one process: listener, service, sweeper and (optionally) workers.

``serve`` starts it in the app lifespan with ``settings.async_workers`` job slots; ``jmmctap worker``
starts it with workers only needing the database. Several processes may share one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from psycopg_pool import AsyncConnectionPool

from jmmctap.db.pools import Pools
from jmmctap.settings import Settings
from jmmctap.uws.dbfiles import DatabaseResultStore
from jmmctap.uws.events import JobEvents
from jmmctap.uws.files import FileResultStore, JobFiles, results_directory
from jmmctap.uws.joblog import log_transition
from jmmctap.uws.models import ExecutionPhase
from jmmctap.uws.resultstore import ResultStore
from jmmctap.uws.service import JobService
from jmmctap.uws.store import JobStore, listen, open_job_pool
from jmmctap.uws.sweeper import sweep_forever
from jmmctap.uws.worker import Execute, Worker

__all__ = ["UwsRuntime", "open_result_store", "start_uws"]

_LISTEN_READY_TIMEOUT_S = 15.0
_STOP_RETRY_S = 0.1


def _conninfo(pool: AsyncConnectionPool[Any]) -> str:
    assert isinstance(pool.conninfo, str), "pools are built from connection strings"
    return pool.conninfo


def open_result_store(settings: Settings, pools: Pools) -> ResultStore:
    """The results store ``settings.results_store`` names (``database``: on the owner pool)."""
    if settings.results_store == "database":
        return DatabaseResultStore(pools.owner)
    return FileResultStore(JobFiles(results_directory(settings)))


@dataclass(frozen=True)
class UwsRuntime:
    """What the HTTP layer uses (``service``) and, for tests and logs, this process's worker id."""

    service: JobService
    worker_id: int | None


@contextlib.asynccontextmanager
async def start_uws(
    pools: Pools, settings: Settings, execute: Execute | None, workers: int, *, results: ResultStore | None = None,
    draining: Callable[[], bool] = lambda: False,
) -> AsyncIterator[UwsRuntime]:
    """Run the UWS machinery while inside the block.

    Parameters
    ----------
    pools
        The owner pool's connection string serves the job store's own pool and the listener; the query
        pool runs the jobs' queries.
    execute
        Runs one job (``uws.execute.JobExecutor``); None runs no jobs here.
    workers
        Concurrent job slots of this process; 0 runs no jobs (another process must).
    results
        The results store (default: the one the settings name).
    draining
        True once the process is stopping: its workers claim no more jobs.
    """
    events = JobEvents()
    job_pool = await open_job_pool(_conninfo(pools.owner), settings.pool_size)
    try:
        store = results if results is not None else open_result_store(settings, pools)
        async with _running(job_pool, pools, settings, events, store, execute, workers, draining) as runtime:
            yield runtime
    finally:
        await job_pool.close()


@contextlib.asynccontextmanager
async def _running(
    job_pool: AsyncConnectionPool[Any], pools: Pools, settings: Settings, events: JobEvents, results: ResultStore,
    execute: Execute | None, workers: int, draining: Callable[[], bool],
) -> AsyncIterator[UwsRuntime]:
    store = JobStore(job_pool)
    service = JobService(store, events, results, settings, _conninfo(pools.query))
    runs_jobs = execute is not None and workers > 0
    worker_id = await store.register_worker(socket.gethostname(), os.getpid()) if runs_jobs else None
    ready = asyncio.Event()

    async def on_ready() -> None:
        events.wake_all()  # notifications may have been missed while (re)connecting
        ready.set()

    # plain tasks rather than a task group: the block may be left from another task (test fixtures)
    tasks = [asyncio.create_task(listen(_conninfo(pools.owner), events.dispatch, on_ready=on_ready,
                                        worker_id=worker_id))]
    try:
        async with asyncio.timeout(_LISTEN_READY_TIMEOUT_S):
            await ready.wait()
        tasks.append(asyncio.create_task(sweep_forever(service)))
        if worker_id is not None and execute is not None:
            tasks.append(asyncio.create_task(Worker(store, events, execute, worker_id, workers, draining).run()))
        yield UwsRuntime(service, worker_id)
    finally:
        with anyio.CancelScope(shield=True):
            await _stop(tasks)
            if worker_id is not None:
                with contextlib.suppress(Exception):
                    for job_id in await store.unregister_worker(worker_id):
                        log_transition(job_id, ExecutionPhase.QUEUED.value, None, worker=worker_id,
                                       reason="worker stopping")


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the tasks until they end.

    A cancellation that reaches a task inside an anyio shielded scope (``anyio.to_thread.run_sync``, the
    query layer's cleanup) can be absorbed there, leaving the task to sleep on (5 s for the sweeper): so
    cancel again until every task is done.
    """
    while pending := [task for task in tasks if not task.done()]:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=_STOP_RETRY_S)
    await asyncio.gather(*tasks, return_exceptions=True)
