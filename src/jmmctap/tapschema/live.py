"""A server's current TAP_SCHEMA: read-your-writes whatever the NOTIFY timing.

The NOTIFY watch (``watch.py``) keeps the copy fresh in the background, but correctness does not
rely on it: before each query ``fresh`` reads the generation counter of sql/0019 (one indexed
single-row read) and reloads when the copy is older, so a table published by an ingest that has
returned is known at once. ``run`` also retries a query once when it failed while TAP_SCHEMA changed
under it (e.g. ``--mode replace`` swapped the table between translation and execution, so the SQL
named columns that no longer exist): the client gets the old or the new table, never that error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from psycopg_pool import AsyncConnectionPool

from jmmctap.errors import UsageError
from jmmctap.tapschema.load import GENERATION_QUERY, load_tap_schema_async
from jmmctap.tapschema.model import TapSchema

__all__ = ["LiveTapSchema"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class LiveTapSchema:
    """The newest TAP_SCHEMA a server process has read, and how to make sure it is current.

    Parameters
    ----------
    pool
        Owner-role pool (autocommit) used for the generation check and reloads.
    schema
        The copy read at start-up.
    on_change
        Called with every newer copy (e.g. to publish it on ``app.state``).
    """

    def __init__(self, pool: AsyncConnectionPool[Any], schema: TapSchema,
                 on_change: Callable[[TapSchema], None] | None = None) -> None:
        self._pool = pool
        self._schema = schema
        self._on_change = on_change
        self._reloading = asyncio.Lock()

    @property
    def schema(self) -> TapSchema:
        """The newest copy known, without checking the database."""
        return self._schema

    def offer(self, schema: TapSchema) -> None:
        """Adopt ``schema`` unless a newer generation is already held (reloads and NOTIFY may cross)."""
        if schema.generation < self._schema.generation:
            return
        self._schema = schema
        if self._on_change is not None:
            self._on_change(schema)

    async def generation(self) -> int:
        """The database's current TAP_SCHEMA generation."""
        async with self._pool.connection() as conn:
            row = await (await conn.execute(GENERATION_QUERY)).fetchone()
        return int(row[0]) if row else 0

    async def fresh(self) -> TapSchema:
        """The copy, reloaded first when the database has a newer generation."""
        current = await self.generation()
        if current == self._schema.generation:
            return self._schema
        async with self._reloading:  # concurrent requests share one reload
            if self._schema.generation < current:
                async with self._pool.connection() as conn:
                    self.offer(await load_tap_schema_async(conn))
        return self._schema

    async def run(self, attempt: Callable[[TapSchema], Awaitable[T]]) -> T:
        """``attempt(fresh copy)``; once more with the new copy if it failed while TAP_SCHEMA changed.

        Only a failure before anything was sent is retried (``attempt`` translates and starts a
        query; its first batch is fetched before it returns), so the client never sees a mix.
        """
        schema = await self.fresh()
        try:
            return await attempt(schema)
        except UsageError as exc:
            try:
                changed = await self.generation() != schema.generation
            except psycopg.Error:
                changed = False
            if not changed:
                raise
            log.info("TAP_SCHEMA changed during a query (%s); retrying with the new metadata", exc.message)
        return await attempt(await self.fresh())
