"""``jmmctap worker``: a process that only runs async jobs, beside (or instead of) the workers of ``serve``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from jmmctap.db.connect import conninfos
from jmmctap.db.pools import open_pools
from jmmctap.errors import ConfigError
from jmmctap.settings import Settings
from jmmctap.tapschema import load_tap_schema_async
from jmmctap.tapschema.live import LiveTapSchema
from jmmctap.tapschema.watch import watch_tap_schema
from jmmctap.uws.execute import JobExecutor
from jmmctap.uws.runtime import start_uws

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
    pools = await open_pools(settings)
    try:
        async with pools.owner.connection() as conn:
            live = LiveTapSchema(pools.owner, await load_tap_schema_async(conn))
        watch = asyncio.create_task(watch_tap_schema(conninfos(settings).owner, live.offer))
        try:
            executor = JobExecutor.create(pools, lambda: live, settings)
            async with start_uws(pools, settings, executor, count) as runtime:
                log.info("jmmctap worker %s running %d job slots", runtime.worker_id, count)
                await _until_signalled()
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
    finally:
        await pools.close()


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
