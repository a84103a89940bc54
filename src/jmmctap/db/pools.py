"""The server's connection pools: one for the owner role, one for the SELECT-only query role."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from jmmctap.db.connect import conninfos
from jmmctap.db.gate import GateLimits, QueryGate
from jmmctap.db.migrate import query_conninfo, schema_version
from jmmctap.errors import ConfigError
from jmmctap.query import configure_query_connection
from jmmctap.settings import Settings

__all__ = ["Pools", "open_pools", "probe"]

_PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Pools:
    """``owner`` does bookkeeping (jobs, ingest); ``query`` only ever runs translated ADQL, lent by ``gate``."""

    owner: AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]]
    query: AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]]
    gate: QueryGate

    async def close(self) -> None:
        await asyncio.gather(self.owner.close(), self.query.close())


async def open_pools(settings: Settings) -> Pools:
    """Open both pools; raise ``ConfigError`` when the database is not initialised."""
    infos = conninfos(settings)
    with psycopg.connect(infos.owner, connect_timeout=10) as conn:
        if schema_version(conn) is None:
            raise ConfigError("the database is not initialised: run 'jmmctap db init'")
        query = query_conninfo(conn, infos)
    owner_pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        infos.owner, min_size=1, max_size=settings.pool_size, open=False, kwargs={"autocommit": True},
        name="owner", check=AsyncConnectionPool.check_connection,
    )
    # check: a connection is tested when lent, so the first queries after a database restart do not each
    # meet a dead connection (57P01) before the pool discards it
    query_pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        query, min_size=1, max_size=settings.pool_size + settings.slow_clients, open=False, name="query",
        configure=configure_query_connection, check=AsyncConnectionPool.check_connection,
    )
    await owner_pool.open(wait=True, timeout=15)
    await query_pool.open(wait=True, timeout=15)
    limits = GateLimits(settings.pool_size, settings.slow_clients, settings.client_queries, settings.queue_wait_s)
    return Pools(owner=owner_pool, query=query_pool, gate=QueryGate(query_pool, limits))


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
