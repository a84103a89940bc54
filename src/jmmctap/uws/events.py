"""In-process delivery of the UWS notifications: phase changes to WAIT-ers and workers, the queue to workers.

``uws.store.listen`` feeds ``JobEvents.dispatch`` from PostgreSQL's LISTEN/NOTIFY, so a change made by any
process sharing the database (another ``serve``, a ``jmmctap worker``) wakes the waiters of this one.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Iterator

from jmmctap.uws.store import CHANNEL_JOB, CHANNEL_QUEUE

__all__ = ["DELETED", "JobEvents", "PhaseWatch"]

DELETED = "DELETED"
"""Pseudo-phase announced when a job is deleted."""

_MAX_MISSED = 64


class PhaseWatch:
    """Phase changes of one job, as announced; ``wait`` returns the newest one."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()
        self.last: str | None = None

    def _announce(self, phase: str | None) -> None:
        self.last = phase  # None: woken without a phase (after a reconnection), the job must be re-read
        self._changed.set()

    async def wait(self, timeout_s: float | None) -> bool:
        """Wait for the next announcement (or one already received); False on timeout."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._changed.wait()
        except TimeoutError:
            return False
        self._changed.clear()
        return True


class JobEvents:
    """Hub of the notifications received by one process."""

    def __init__(self) -> None:
        self._watches: dict[str, set[PhaseWatch]] = {}
        self._idle: collections.deque[asyncio.Future[None]] = collections.deque()
        self._missed = 0

    @contextlib.contextmanager
    def watch(self, job_id: str) -> Iterator[PhaseWatch]:
        """Receive the phase changes of ``job_id`` while inside the block (subscribe before reading the job)."""
        watch = PhaseWatch()
        self._watches.setdefault(job_id, set()).add(watch)
        try:
            yield watch
        finally:
            watchers = self._watches.get(job_id)
            if watchers is not None:
                watchers.discard(watch)
                if not watchers:
                    del self._watches[job_id]

    async def wait_queue(self, timeout_s: float | None = None) -> None:
        """Wait until a job is queued (or ``timeout_s``): each notification wakes one waiting worker.

        A notification that found no waiting worker is kept, so a worker that looked for jobs just before
        it arrived returns at once instead of sleeping on a queued job.
        """
        if self._missed:
            self._missed -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._idle.append(waiter)
        try:
            await asyncio.wait({waiter}, timeout=timeout_s)
        finally:
            if not waiter.done():
                waiter.cancel()
            with contextlib.suppress(ValueError):
                self._idle.remove(waiter)

    def dispatch(self, channel: str, payload: str) -> None:
        """Handle one notification (called by the listener, in the event loop)."""
        if channel == CHANNEL_QUEUE:
            self._wake_one()
        elif channel == CHANNEL_JOB:
            job_id, _, phase = payload.partition(" ")
            for watch in list(self._watches.get(job_id, ())):
                watch._announce(phase or None)

    def wake_all(self) -> None:
        """After a reconnection notifications may have been lost: every waiter re-checks."""
        for watchers in list(self._watches.values()):
            for watch in list(watchers):
                watch._announce(None)
        while self._idle:
            self._wake_one()
        self._wake_one()

    def _wake_one(self) -> None:
        while self._idle:
            waiter = self._idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._missed = min(self._missed + 1, _MAX_MISSED)
