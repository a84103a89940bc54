"""Admission of user queries to the query pool: fair shares, stalled readers set aside, long holds reported.

The pool alone is not enough: a connection stays with its response while the rows stream, so a client
that never reads its result keeps it for ever, and eight such clients took every connection of a server
(issue 13). The gate counts *active* queries — executing, or streaming to a client that reads — against
``pool_size``. A response whose client has stopped reading is set aside on one of ``slow_clients``
slots: its connection stays open (the cursor is still needed) but no longer counts, so that the clients
that read keep their share; ``responses.py`` ends such a response after ``send_timeout_s``. The pool may
therefore open ``pool_size + slow_clients`` connections. One client address may run ``client_queries``
queries at once (429 beyond), and a request waits at most ``queue_wait_s`` for an active slot (503).
"""

from __future__ import annotations

import logging
import time
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from jmmctap.errors import ServiceUnavailableError, TooManyRequestsError

__all__ = ["GateLimits", "Lease", "Lender", "QueryGate"]

log = logging.getLogger(__name__)

_CONNECT_TIMEOUT_S = 5.0
"""Longest wait for the pool to hand out a connection once a slot is had: only (re)connection can take
time then, so a longer wait means the database is down (503 rather than a hung request)."""

_CHECK_AFTER_IDLE_S = 2.0
"""A connection given back less than this long ago is lent unchecked: a round trip per query cost a
third of the cone-search throughput, and a connection that died meanwhile is caught by ``query.start``,
which retries on a new one when nothing was sent."""

_WATCH_PERIOD_S = 5.0
"""How often held connections are checked against their expected holding time."""


@dataclass(frozen=True)
class GateLimits:
    """The gate's numbers, from the settings."""

    active: int
    slow: int
    per_client: int
    queue_wait_s: float
    hold_margin_s: float = 30.0


@dataclass(eq=False)
class Lease:
    """One query connection lent to one request, with what is needed to report it."""

    conn: AsyncConnection[Any]
    label: str
    client: str
    since: float
    warn_after_s: float
    slow: bool = False
    released: bool = False
    reported: bool = field(default=False, repr=False)


class Lender(Protocol):
    """What lends query connections: one ``QueryGate``, or ``db.replicas.ReadRouter`` choosing among several."""

    async def acquire(self, label: str, client: str, expected_s: float, *, fence: int = 0) -> Lease: ...
    async def release(self, lease: Lease) -> None: ...
    def set_aside(self, lease: Lease) -> bool: ...
    async def purge(self) -> None: ...


class QueryGate:
    """Lends the query pool's connections to requests (see the module docstring)."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[Any]], limits: GateLimits) -> None:
        self._pool = pool
        self._limits = limits
        self._slots = anyio.Semaphore(limits.active)
        self._slow = 0
        self._waiting = 0
        self._clients: Counter[str] = Counter()
        self._leases: set[Lease] = set()
        self._returned: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = weakref.WeakKeyDictionary()

    async def acquire(self, label: str, client: str, expected_s: float, *, fence: int = 0) -> Lease:
        """A connection for one query, once an active slot is free.

        Parameters
        ----------
        label
            What the connection is for (``"POST /tap/sync <digest>"``), logged if it is held too long.
        client
            The client's address (fair shares); jobs use their worker's name.
        expected_s
            The query's time limit: a connection held longer than this plus a margin is logged.
        fence
            The WAL position the server must have (``db.replicas``); ignored: this gate's server has it.

        Raises
        ------
        TooManyRequestsError
            The client already runs ``client_queries`` queries.
        ServiceUnavailableError
            No active slot within ``queue_wait_s``, or the database cannot be reached.
        """
        if self._clients[client] >= self._limits.per_client:
            raise TooManyRequestsError(
                f"too many queries at once from this client (at most {self._limits.per_client}); "
                "wait for one to end or use async")
        self._clients[client] += 1
        try:
            conn = await self._connection()
        except BaseException:
            self._forget_client(client)
            raise
        lease = Lease(conn, label, client, time.monotonic(), expected_s + self._limits.hold_margin_s)
        self._leases.add(lease)
        return lease

    async def _connection(self) -> AsyncConnection[Any]:
        self._waiting += 1
        try:
            with anyio.fail_after(self._limits.queue_wait_s):
                await self._slots.acquire()
        except TimeoutError:
            log.warning("no free query slot within %.0f s (%d waiting)", self._limits.queue_wait_s, self._waiting)
            raise ServiceUnavailableError("every query connection is busy; try again shortly") from None
        finally:
            self._waiting -= 1
        try:
            return await self._live_connection()
        except (PoolTimeout, psycopg.OperationalError) as exc:
            self._slots.release()
            log.error("no query connection: %s", exc)
            raise ServiceUnavailableError("the database is not available; try again later", 30) from None
        except BaseException:
            self._slots.release()
            raise

    async def _live_connection(self) -> AsyncConnection[Any]:
        """A pooled connection that answers, checked here rather than by the pool's ``check`` (when idle a while).

        The pool's own check sleeps 1, 2, 4 s… between dead connections: after a database restart a
        pool of twenty dead connections made every request time out. One dead connection means the
        others died with it, so the pool tests and replaces them all at once (``check``).
        """
        for _ in range(2):
            conn = await self._pool.getconn(timeout=_CONNECT_TIMEOUT_S)
            returned = self._returned.pop(conn, None)
            if returned is not None and time.monotonic() - returned < _CHECK_AFTER_IDLE_S:
                return conn
            try:
                await AsyncConnectionPool.check_connection(conn)
            except psycopg.Error as exc:
                log.warning("a query connection was dead (%s); checking the others", exc)
                await self._pool.putconn(conn)  # broken: the pool discards it
                await self.purge()
                continue
            except BaseException:
                await self._pool.putconn(conn)
                raise
            return conn
        raise PoolTimeout("the pool's connections keep failing")

    async def purge(self) -> None:
        """Test every idle connection now and replace the dead ones (one just died: the others likely too)."""
        self._returned.clear()
        await self._pool.check()

    def set_aside(self, lease: Lease) -> bool:
        """Stop counting ``lease`` as active (its client stopped reading), if a slow slot is free."""
        if lease.slow or lease.released or self._slow >= self._limits.slow:
            return False
        lease.slow = True
        self._slow += 1
        self._slots.release()
        log.info("%s: client %s stopped reading; its connection is set aside", lease.label, lease.client)
        return True

    async def release(self, lease: Lease) -> None:
        """Give the connection back (its transaction already ended) and free the lease's slot; idempotent."""
        if lease.released:
            return
        lease.released = True
        self._leases.discard(lease)
        try:
            if not lease.conn.closed:
                self._returned[lease.conn] = time.monotonic()
            await self._pool.putconn(lease.conn)
        finally:
            if lease.slow:
                self._slow -= 1
            else:
                self._slots.release()
            self._forget_client(lease.client)

    def _forget_client(self, client: str) -> None:
        self._clients[client] -= 1
        if self._clients[client] <= 0:
            del self._clients[client]

    def stats(self) -> dict[str, int]:
        """What ``/health`` shows: connections open, lent, idle, requests waiting, slow readers."""
        pool = self._pool.get_stats()
        size, idle = pool.get("pool_size", 0), pool.get("pool_available", 0)
        return {
            "max": self._pool.max_size, "size": size, "in_use": len(self._leases), "idle": idle,
            "waiting": self._waiting, "slow": self._slow,
        }

    def overdue(self) -> list[Lease]:
        """Leases held longer than their query's time limit plus the margin, each returned once."""
        now = time.monotonic()
        late = [lease for lease in self._leases if not lease.reported and now - lease.since > lease.warn_after_s]
        for lease in late:
            lease.reported = True
        return late

    async def watch(self, period_s: float = _WATCH_PERIOD_S) -> None:
        """Log every connection held past its expected time (run as a background task)."""
        while True:
            await anyio.sleep(period_s)
            for lease in self.overdue():
                log.warning("query connection held for %.0f s (limit %.0f s): %s, client %s%s",
                            time.monotonic() - lease.since, lease.warn_after_s, lease.label, lease.client,
                            " (not reading)" if lease.slow else "")
