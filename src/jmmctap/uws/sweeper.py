"""The sweeper: jobs of dead workers → ERROR, expired jobs and their files deleted, orphaned files removed.

Every process runs one; the store's statements are atomic, so several sweepers never handle a job twice.
A worker is dead when its advisory lock is free (PostgreSQL closed its session: ``kill -9``, crash,
restart) or its heartbeat is older than ``STALE_WORKER_S`` (a hung process or host).
"""

from __future__ import annotations

import asyncio
import logging

from jmmctap.uws.cancel import cancel_backend
from jmmctap.uws.events import DELETED
from jmmctap.uws.files import ORPHAN_DIR_AGE_S
from jmmctap.uws.joblog import log_transition
from jmmctap.uws.models import ExecutionPhase
from jmmctap.uws.service import JobService

__all__ = ["DEAD_WORKER_MESSAGE", "ORPHAN_DIR_AGE_S", "STALE_WORKER_S", "SWEEP_INTERVAL_S", "sweep", "sweep_forever"]

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 5.0
"""Seconds between two sweeps (how late a dead worker's job may show EXECUTING)."""

STALE_WORKER_S = 60.0
"""A worker whose last heartbeat is older than this is dead even if its session lives."""

DEAD_WORKER_MESSAGE = "the job was interrupted: the process running it stopped (crash or restart); run it again"
"""Error of a job whose worker died while it executed."""

_ORPHAN_EVERY = 120


async def sweep(service: JobService, orphans: bool = False) -> None:
    """One sweep: fail the jobs of dead workers, delete expired jobs, optionally remove orphaned directories."""
    store = service.store
    for stopped in await store.fail_orphans(DEAD_WORKER_MESSAGE, STALE_WORKER_S):
        log.warning("job %s: its worker died; now ERROR", stopped.job_id)
        log_transition(stopped.job_id, ExecutionPhase.ERROR.value, None, error=DEAD_WORKER_MESSAGE)
        await cancel_backend(service.query_conninfo, stopped)
    for stopped in await store.delete_expired():
        log_transition(stopped.job_id, DELETED, None, reason="destruction time reached")
        await service.discard(stopped)
    if orphans:
        await service.results.remove_orphans(store.existing)


async def sweep_forever(service: JobService, interval_s: float = SWEEP_INTERVAL_S) -> None:
    """Sweep now, then every ``interval_s`` seconds, until cancelled."""
    count = 0
    while True:
        try:
            await sweep(service, orphans=count % _ORPHAN_EVERY == 0)
        except Exception as exc:  # the database may be restarting: the next sweep retries
            log.warning("UWS sweep failed: %s", exc)
        count += 1
        await asyncio.sleep(interval_s)
