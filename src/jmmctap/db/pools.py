"""The server's connection pools: one for the owner role, one for the SELECT-only query role.

Every session of a server process is configured by ``configure_session``: PostgreSQL checks every
``CLIENT_CHECK_INTERVAL_MS`` whether the client is still there while a query runs, so the backends of a
process that died (``kill -9``, crash) stop within seconds instead of running their query to its end; TCP
keep-alives do the same for a host that vanished (DSN mode over TCP). ``application_name`` names the
process in ``pg_stat_activity``.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from jmmctap.acl.principal import PrincipalSigner, read_signer
from jmmctap.db.connect import conninfos
from jmmctap.db.gate import GateLimits, QueryGate
from jmmctap.db.migrate import query_conninfo, schema_version
from jmmctap.db.replicas import ReadRouter, Replica, replica_conninfo, replica_name
from jmmctap.errors import ConfigError
from jmmctap.query import configure_query_connection
from jmmctap.settings import Settings

__all__ = [
    "CLIENT_CHECK_INTERVAL_MS", "RECONNECT_TIMEOUT_S", "Pools", "application_name", "configure_session", "open_pools",
    "probe",
]

CLIENT_CHECK_INTERVAL_MS = 1000
"""How often a backend running a query checks that its client is alive (PostgreSQL 14+)."""

_SESSION_SETTINGS = {
    "client_connection_check_interval": str(CLIENT_CHECK_INTERVAL_MS),
    "tcp_keepalives_idle": "10",  # seconds; ignored on Unix sockets
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}
_PROBE_TIMEOUT_S = 3.0

RECONNECT_TIMEOUT_S = 5.0
"""How long a pool keeps retrying a failed connection before giving up until the next request.

psycopg_pool doubles the wait between attempts without bound: after a 40 s outage its next attempt
came more than 30 s after the database was back, and the first queries failed. Giving up early lets the
next request start a fresh attempt at once."""


def application_name(purpose: str) -> str:
    """``application_name`` of this process's sessions: ``jmmctap <purpose> <host>:<pid>``."""
    return f"jmmctap {purpose} {socket.gethostname()}:{os.getpid()}"[:63]


async def configure_session(conn: psycopg.AsyncConnection[Any]) -> None:
    """Pool ``configure`` hook: the dead-client checks of the module docstring (the session is left idle)."""
    await conn.execute(
        "SELECT " + ", ".join("set_config(%s, %s, false)" for _ in _SESSION_SETTINGS),
        [item for pair in _SESSION_SETTINGS.items() for item in pair],
    )
    if not conn.autocommit:
        await conn.commit()


def _then(
    first: Callable[[psycopg.AsyncConnection[Any]], Awaitable[None]],
    second: Callable[[psycopg.AsyncConnection[Any]], Awaitable[None]],
) -> Callable[[psycopg.AsyncConnection[Any]], Awaitable[None]]:
    async def both(conn: psycopg.AsyncConnection[Any]) -> None:
        await first(conn)
        await second(conn)
    return both


@dataclass(frozen=True)
class Pools:
    """``owner`` does bookkeeping (jobs, ingest); ``query`` only ever runs translated ADQL, lent by ``gate``,
    each transaction for a principal signed by ``signer``. ``gate`` is the primary's; ``reads`` lends the
    connections of read-only user queries, on the replicas when there are (``db.replicas``)."""

    owner: AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]]
    query: AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]]
    gate: QueryGate
    signer: PrincipalSigner
    reads: ReadRouter

    async def close(self) -> None:
        await asyncio.gather(self.owner.close(), self.query.close(), self.reads.close())


async def open_pools(settings: Settings) -> Pools:
    """Open both pools; raise ``ConfigError`` when the database is not initialised."""
    infos = conninfos(settings)
    with psycopg.connect(infos.owner, connect_timeout=10) as conn:
        if schema_version(conn) is None:
            raise ConfigError("the database is not initialised: run 'jmmctap db init'")
        query = query_conninfo(conn, infos)
        signer = read_signer(conn)
    # check: a connection is tested when lent (the query pool's by the gate), so the first queries after a
    # database restart do not each meet a dead connection (57P01) before the pool discards it
    owner_pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        infos.owner, min_size=1, max_size=settings.pool_size, open=False, name="owner", timeout=10,
        reconnect_timeout=RECONNECT_TIMEOUT_S,
        kwargs={"autocommit": True, "application_name": application_name("owner")}, configure=configure_session,
        check=AsyncConnectionPool.check_connection,
    )
    query_pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        query, min_size=1, max_size=settings.pool_size + settings.slow_clients, open=False, name="query",
        reconnect_timeout=RECONNECT_TIMEOUT_S,
        kwargs={"application_name": application_name("query")},
        configure=_then(configure_session, configure_query_connection),  # checked by the gate when lent
    )
    await owner_pool.open(wait=True, timeout=15)
    await query_pool.open(wait=True, timeout=15)
    limits = GateLimits(settings.pool_size, settings.slow_clients, settings.client_queries, settings.queue_wait_s)
    gate = QueryGate(query_pool, limits)
    replicas = [_open_replica(dsn, query, settings, limits) for dsn in settings.replica_dsns]
    for replica in replicas:
        await replica.pool.open(wait=False)  # a replica down at start-up is skipped, not fatal
    reads = ReadRouter(gate, replicas, max_lag_s=settings.replica_max_lag_s, wait_s=settings.replica_wait_s)
    await reads.check(owner_pool)  # serve from the replicas at once when they are fine
    return Pools(owner=owner_pool, query=query_pool, gate=gate, signer=signer, reads=reads)


def _open_replica(dsn: str, query: str, settings: Settings, limits: GateLimits) -> Replica:
    """A replica's query pool (opened by the caller) and gate, configured as the primary's."""
    try:
        conninfo = replica_conninfo(dsn, query)
    except psycopg.ProgrammingError as exc:
        raise ConfigError(f"JMMCTAP_QUERY_DSNS has an invalid connection string: {exc}") from None
    name = replica_name(dsn)
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        conninfo, min_size=1, max_size=settings.pool_size + settings.slow_clients, open=False,
        name=f"replica {name}", reconnect_timeout=RECONNECT_TIMEOUT_S,
        kwargs={"application_name": application_name("query")},
        configure=_then(configure_session, configure_query_connection),
    )
    return Replica(name, conninfo, pool, QueryGate(pool, limits))


async def probe(pools: Pools) -> tuple[bool, int | None]:
    """Whether the database answers the query role, and its schema version (via the owner)."""
    try:
        async with asyncio.timeout(_PROBE_TIMEOUT_S):
            async with pools.query.connection() as conn:
                await conn.execute("SELECT 1")
                await conn.rollback()
            async with pools.owner.connection() as conn:
                cur = await conn.execute("SELECT max(version) FROM jmmctap.schema_version")
                row = await cur.fetchone()
        return True, None if row is None else row[0]
    except (psycopg.Error, TimeoutError, OSError):
        return False, None
