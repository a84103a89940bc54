"""Read replicas: which server runs a user query (``JMMCTAP_QUERY_DSNS``), their health, and read-your-writes.

The primary (``JMMCTAP_DSN``) keeps everything that writes: jobs, ingest, accounts, the catalog API. The
``ReadRouter`` lends the connections of TAP and cone-search queries, round robin over the replicas that
serve, and falls back to the primary's gate when none does. A replica is skipped, with its reason on
``/health``, when it cannot be reached, is no longer a standby, or lags more than ``replica_max_lag_s``:
``monitor`` samples the primary's flushed WAL position every ``CHECK_PERIOD_S`` and a replica's lag is
the age of the oldest sample it has not replayed yet (not ``now() - pg_last_xact_replay_timestamp()``,
which grows without bound while the primary is idle).

Read-your-writes, by WAL position (a *fence*). A query states the position its server must have replayed:

- the ``lsn`` of the TAP_SCHEMA copy it was translated with (``tapschema.load``): the primary's flushed
  position read after that copy's snapshot. A table that an ingest has just published is unknown to a
  stale copy, which is then reloaded from the primary (``tapschema.live``), so the query waits for a
  replica that has the table: an ingest followed at once by a query through any front-end sees it;
- the position after this process's own writes (``note_write``: catalog API changes, table uploads).

A replica behind the fence gets ``replica_wait_s`` to replay it (``pg_last_wal_replay_lsn()`` polled on
the lent connection; PostgreSQL 15 has no wait-for-LSN); after that the primary runs the query. Queries
that must run on the primary whatever the fence (TAP_UPLOAD's temporary tables cannot be created on a
hot standby; async jobs, whose ABORT cancels their backend by pid on the primary) are sent to the
primary's gate by their callers.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import AsyncConnectionPool

from jmmctap.db.gate import Lease, QueryGate
from jmmctap.errors import ServiceUnavailableError

__all__ = ["CHECK_PERIOD_S", "ReadRouter", "Replica", "replica_conninfo", "replica_name"]

log = logging.getLogger(__name__)

CHECK_PERIOD_S = 1.0
"""How often ``monitor`` samples the primary's WAL position and checks each replica."""

_POLL_S = 0.005
"""Pause between two reads of a replica's replayed position while a query waits for it."""

_CHECK_TIMEOUT_S = 2.0
"""Longest wait for a replica's answer to a check (or for a connection to it): beyond, it is unreachable."""

_LSN = "(pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint"
_CHECK = "SELECT pg_is_in_recovery(), coalesce(" + _LSN + ", 0)"
_PRIMARY_LSN = "SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::bigint"
_REPLAYED = "SELECT coalesce(" + _LSN + ", 0)"


def replica_name(dsn: str) -> str:
    """``host:port/dbname`` of a connection string, for logs and ``/health`` (never its password)."""
    params = conninfo_to_dict(dsn)
    return f"{params.get('host', 'localhost')}:{params.get('port', 5432)}/{params.get('dbname', '')}"


def replica_conninfo(dsn: str, query_conninfo: str) -> str:
    """The query role's connection string for replica ``dsn``: its server, the role and password of the primary's."""
    query = conninfo_to_dict(query_conninfo)
    params = {k: v for k, v in conninfo_to_dict(dsn).items() if k not in ("user", "password")}
    params["user"] = query["user"]
    if "password" in query:
        params["password"] = query["password"]
    return make_conninfo(**params)  # type: ignore[arg-type]


@dataclass(eq=False)
class Replica:
    """One read replica: its query pool and gate, and what the last check found (mutated by the router)."""

    name: str
    conninfo: str
    pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]]
    gate: QueryGate
    replayed: int = 0
    """WAL position (bytes) it had replayed at the last check or wait."""
    lag_s: float | None = None
    skipped: str | None = "not checked yet"
    """Why it serves no queries now; None when it serves."""
    queries: int = 0
    """Queries it was lent for."""
    _check: psycopg.AsyncConnection[Any] | None = field(default=None, repr=False)

    def skip(self, reason: str | None) -> None:
        if reason != self.skipped:
            if reason is None:
                log.info("replica %s serves queries again", self.name)
            else:
                log.warning("replica %s skipped: %s", self.name, reason)
        self.skipped = reason


class ReadRouter:
    """Lends query connections of the replicas, or of the primary (see the module docstring).

    Parameters
    ----------
    primary
        The primary's query gate: the fallback, and every query when there is no replica.
    replicas
        The replicas, in ``JMMCTAP_QUERY_DSNS`` order.
    max_lag_s
        A replica further behind is skipped.
    wait_s
        How long a query waits for a replica to reach its fence.
    """

    def __init__(self, primary: QueryGate, replicas: Sequence[Replica] = (), *, max_lag_s: float = 10.0,
                 wait_s: float = 1.0) -> None:
        self.primary = primary
        self.replicas = tuple(replicas)
        self._max_lag_s, self._wait_s = max_lag_s, wait_s
        self._fence = 0
        self._turn = itertools.count()
        self._lent: dict[Lease, QueryGate] = {}
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self.primary_queries = 0
        """Queries the primary ran for this router (no replica, or none serving or caught up)."""

    @property
    def fence(self) -> int:
        """The WAL position of this process's latest own write (every query must see it)."""
        return self._fence

    def note_write(self, lsn: int) -> None:
        """A write of this process committed at (or before) ``lsn``: its later queries must see it."""
        self._fence = max(self._fence, lsn)

    async def acquire(self, label: str, client: str, expected_s: float, *, fence: int = 0) -> Lease:
        """A connection of a serving replica that has replayed ``fence`` (and ``self.fence``), else the primary's.

        Raises
        ------
        TooManyRequestsError, ServiceUnavailableError
            As ``QueryGate.acquire``, from the primary's gate (a replica's refusal moves on to the next).
        """
        needed = max(fence, self._fence)
        deadline = time.monotonic() + self._wait_s
        for replica in self._rotation():
            try:
                lease = await replica.gate.acquire(label, client, expected_s)
            except ServiceUnavailableError as exc:
                replica.skip(f"no connection: {exc.message}")
                continue
            try:
                caught_up = replica.replayed >= needed or await self._catch_up(replica, lease, needed, deadline)
            except BaseException:
                await replica.gate.release(lease)
                raise
            if caught_up:
                self._lent[lease] = replica.gate
                replica.queries += 1
                return lease
            await replica.gate.release(lease)
        lease = await self.primary.acquire(label, client, expected_s)
        self.primary_queries += 1
        return lease

    def _rotation(self) -> list[Replica]:
        serving = [r for r in self.replicas if r.skipped is None]
        if not serving:
            return []
        start = next(self._turn) % len(serving)
        return serving[start:] + serving[:start]

    async def _catch_up(self, replica: Replica, lease: Lease, needed: int, deadline: float) -> bool:
        """Poll the replica's replayed position on the lent connection until ``needed`` or ``deadline``."""
        try:
            while True:
                cursor = await lease.conn.execute(_REPLAYED)
                row = await cursor.fetchone()
                replica.replayed = max(replica.replayed, int(row[0]) if row else 0)
                if replica.replayed >= needed:
                    return True
                if time.monotonic() >= deadline:
                    log.info("replica %s has not replayed %d within %.1f s; the primary runs %s",
                             replica.name, needed, self._wait_s, lease.label)
                    return False
                await asyncio.sleep(_POLL_S)
        except psycopg.Error as exc:
            replica.skip(f"connection lost: {exc}".splitlines()[0])
            return False

    async def release(self, lease: Lease) -> None:
        """Give ``lease`` back to the gate that lent it; a replica whose connection broke is skipped until checked."""
        gate = self._lent.pop(lease, self.primary)
        if gate is not self.primary and (lease.conn.closed or lease.conn.broken):
            for replica in self.replicas:
                if replica.gate is gate:
                    replica.skip("a query connection broke; waiting for the next check")
        await gate.release(lease)

    def set_aside(self, lease: Lease) -> bool:
        return self._lent.get(lease, self.primary).set_aside(lease)

    async def purge(self) -> None:
        """Test the idle connections of every gate (a connection just died)."""
        await asyncio.gather(self.primary.purge(), *(r.gate.purge() for r in self.replicas))

    def stats(self) -> list[dict[str, Any]]:
        """What ``/health`` shows of each replica: serving or skipped (and why), lag, queries, pool."""
        return [
            {"name": r.name, "serving": r.skipped is None, "skipped": r.skipped,
             "lag_s": None if r.lag_s is None else round(r.lag_s, 3), "replayed_lsn": _lsn_text(r.replayed),
             "queries": r.queries, "pool": r.gate.stats()}
            for r in self.replicas
        ]

    # -- monitoring --------------------------------------------------------------------------

    async def check(self, primary: AsyncConnectionPool[Any]) -> None:
        """Sample the primary's WAL position, then check every replica (reachable, standby, lag)."""
        if not self.replicas:
            return
        now = time.monotonic()
        try:
            async with asyncio.timeout(_CHECK_TIMEOUT_S), primary.connection() as conn:
                row = await (await conn.execute(_PRIMARY_LSN)).fetchone()
            if row is not None:
                self._samples.append((now, int(row[0])))
        except (psycopg.Error, TimeoutError, OSError) as exc:
            log.warning("cannot read the primary's WAL position: %s", exc)
        while self._samples and now - self._samples[0][0] > self._max_lag_s + 2 * CHECK_PERIOD_S:
            self._samples.popleft()
        await asyncio.gather(*(self._check_replica(r, now) for r in self.replicas))

    async def _check_replica(self, replica: Replica, now: float) -> None:
        try:
            async with asyncio.timeout(_CHECK_TIMEOUT_S):
                if replica._check is None or replica._check.closed:
                    replica._check = await psycopg.AsyncConnection.connect(
                        replica.conninfo, autocommit=True, application_name="jmmctap replica check")
                row = await (await replica._check.execute(_CHECK)).fetchone()
        except (psycopg.Error, TimeoutError, OSError) as exc:
            await self._drop_check(replica)
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            replica.lag_s = None
            replica.skip(f"unreachable: {reason.removeprefix('connection failed: ')}")
            return
        recovering, replayed = bool(row and row[0]), int(row[1]) if row else 0
        if not recovering:
            replica.lag_s = None
            replica.skip("not a standby (pg_is_in_recovery() is false): promoted, or not a replica of JMMCTAP_DSN")
            return
        replica.replayed = max(replica.replayed, replayed)
        behind = [t for t, lsn in self._samples if lsn > replica.replayed]
        replica.lag_s = now - behind[0] if behind else 0.0
        if replica.lag_s > self._max_lag_s:
            replica.skip(f"lagging {replica.lag_s:.1f} s behind the primary "
                         f"(more than JMMCTAP_REPLICA_MAX_LAG_S = {self._max_lag_s:g} s)")
        else:
            replica.skip(None)

    @staticmethod
    async def _drop_check(replica: Replica) -> None:
        if replica._check is not None:
            with contextlib.suppress(psycopg.Error):
                await replica._check.close()
            replica._check = None

    async def monitor(self, primary: AsyncConnectionPool[Any], period_s: float = CHECK_PERIOD_S) -> None:
        """Run ``check`` every ``period_s`` until cancelled (a background task of the process)."""
        try:
            while True:
                await self.check(primary)
                await asyncio.sleep(period_s)
        finally:
            for replica in self.replicas:
                await self._drop_check(replica)

    async def close(self) -> None:
        """Close the replicas' pools and check connections."""
        for replica in self.replicas:
            await self._drop_check(replica)
        await asyncio.gather(*(r.pool.close() for r in self.replicas))


def _lsn_text(lsn: int) -> str:
    """PostgreSQL's ``X/Y`` spelling of a WAL position."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"
