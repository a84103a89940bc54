"""``jmmctap worker``: a process that only runs async jobs, beside (or instead of) the workers of ``serve``."""

from __future__ import annotations

import asyncio
import logging
import signal

from jmmctap.context import open_process_context
from jmmctap.errors import ConfigError
from jmmctap.settings import Settings

__all__ = ["run_worker_process"]

log = logging.getLogger(__name__)


async def run_worker_process(settings: Settings, slots: int | None = None) -> None:
    """Run jobs with ``slots`` concurrent workers (default ``settings.async_workers``) until SIGTERM/SIGINT.

    Raises
    ------
    jmmctap.errors.ConfigError
        The database is not reachable or not initialised.
    """
    count = settings.async_workers if slots is None else slots
    if count < 1:
        raise ConfigError("a worker process needs at least one job slot (--workers or JMMCTAP_ASYNC_WORKERS)")
    async with open_process_context(settings, job_slots=count) as context:
        log.info("jmmctap worker %s running %d job slots", context.worker_id, count)
        await _until_signalled()


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
