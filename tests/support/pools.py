"""A pool of the query role as the server configures it, for tests that drive ``query.start`` directly."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from psycopg_pool import AsyncConnectionPool

from jmmctap.query import configure_query_connection

__all__ = ["open_query_pool"]


@contextlib.asynccontextmanager
async def open_query_pool(query_dsn: str, size: int) -> AsyncIterator[AsyncConnectionPool[Any]]:
    """An opened pool of at most ``size`` query-role connections (one is already connected)."""
    async with AsyncConnectionPool(query_dsn, min_size=1, max_size=size, configure=configure_query_connection,
                                   open=False) as pool:
        await pool.open(wait=True)
        yield pool
