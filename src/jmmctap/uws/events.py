"""In-process delivery of the UWS notifications: phase changes to WAIT-ers and workers, the queue to workers.

``uws.store.listen`` feeds ``JobEvents.dispatch`` from PostgreSQL's LISTEN/NOTIFY, so a change made by any
process sharing the database (another ``serve``, a ``jmmctap worker``) wakes the waiters of this one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from jmmctap.uws.store import CHANNEL_JOB, CHANNEL_QUEUE

__all__ = ["DELETED", "JobEvents", "PhaseWatch"]

DELETED = "DELETED"
"""Pseudo-phase announced when a job is deleted."""


class PhaseWatch:
    """Phase changes of one job, as announced; ``wait`` returns the newest one."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()
        self.last: str | None = None

    def _announce(self, phase: str | None) -> None:
        if phase is not None:
            self.last = phase
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
        self._queued = asyncio.Event()
        self._queue_generation = 0

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

    @property
    def queue_generation(self) -> int:
        """Read before looking for queued jobs; ``wait_queue(after=...)`` then misses nothing."""
        return self._queue_generation

    async def wait_queue(self, after: int, timeout_s: float | None = None) -> None:
        """Return once a job was queued since generation ``after`` (or after ``timeout_s``)."""
        if self._queue_generation != after:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._queued.wait()

    def dispatch(self, channel: str, payload: str) -> None:
        """Handle one notification (called by the listener, in the event loop)."""
        if channel == CHANNEL_QUEUE:
            self._bump_queue()
        elif channel == CHANNEL_JOB:
            job_id, _, phase = payload.partition(" ")
            for watch in list(self._watches.get(job_id, ())):
                watch._announce(phase or None)

    def wake_all(self) -> None:
        """After a reconnection notifications may have been lost: every waiter re-checks."""
        for watchers in list(self._watches.values()):
            for watch in list(watchers):
                watch._announce(None)
        self._bump_queue()

    def _bump_queue(self) -> None:
        # wake the current waiters; later ones wait on a fresh event (the generation tells them to look first)
        self._queue_generation += 1
        self._queued.set()
        self._queued = asyncio.Event()
