"""A server's current TAP_SCHEMA: read-your-writes whatever the NOTIFY timing.

The NOTIFY watch (``watch.py``) keeps the copy warm, but correctness does not rely on it:

- ``LiveTapSchema.fresh`` reads the generation counter of sql/0019 (one single-row read) before
  each query and reloads an older copy, so a table published by an ingest that has returned is
  known at once;
- ``pin_metadata`` runs in the query's own transaction: it locks the query's tables, then checks
  the generation and, if it moved since translation, translates again from the metadata read under
  that lock (a later replace must wait for the lock). A ``--mode replace`` that changes the columns,
  their names or only their types, gives the reader the old table or the new one, never an error.
  (Retrying from outside lost every race to the next replace: a reader queued behind one
  replace's lock woke up to stale metadata again.)
- ``LiveTapSchema.run`` retries a query that failed while TAP_SCHEMA changed, a fallback for
  changes the lock cannot cover (a table dropped between translation and the lock).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from jmmctap.errors import MetadataChangedError, UsageError
from jmmctap.results import ResultColumn
from jmmctap.tapschema.load import GENERATION_QUERY, load_tap_schema_async
from jmmctap.tapschema.model import TapSchema

__all__ = ["RETRIES", "LiveTapSchema", "Translated", "pin_metadata"]

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRIES = 4
"""Attempts after the first while TAP_SCHEMA keeps changing under a query (back-to-back replaces);
each retry means another transaction committed, so this bounds only a pathological reload storm."""


class Translated(Protocol):
    """What ``pin_metadata`` needs of an ADQL translation (``jmmctap.adql.Translation``)."""

    @property
    def sql(self) -> str: ...
    @property
    def columns(self) -> tuple[ResultColumn, ...]: ...
    @property
    def tables(self) -> frozenset[str]: ...


def pin_metadata(
    schema: TapSchema, first: Translated, translate: Callable[[TapSchema], Translated]
) -> Callable[[psycopg.AsyncConnection[Any], sql.Composable], Awaitable[tuple[str, Sequence[ResultColumn]]]]:
    """A ``query.Pin``: lock the query's tables, then make sure the SQL matches their metadata.

    Runs in the query's READ ONLY transaction before execution, and sends ``opening`` (the statements
    that start that transaction) in the same round trip as the lock. Once the tables are locked (ACCESS
    SHARE, as the query itself would) no replace of them can commit until the query ends, so the
    TAP_SCHEMA rows read now describe the rows the query will read. When the generation is still
    ``schema``'s (nearly always) ``first`` runs unchanged; otherwise the metadata is read again in this
    transaction and the ADQL translated again (a table that vanished gives its usual ADQL error).
    """

    async def pin(conn: psycopg.AsyncConnection[Any], opening: sql.Composable) -> tuple[str, Sequence[ResultColumn]]:
        translation, described = first, schema
        pending: sql.Composable | None = opening
        for _ in range(RETRIES + 1):
            locked, lock = _lock_statement(described, translation.tables)
            # one round trip: the transaction's opening (first time), the lock, then the generation (a later
            # replace of the tables must wait for us)
            statement = sql.SQL("; ").join([s for s in (pending, lock, sql.SQL(GENERATION_QUERY)) if s is not None])
            pending = None
            cursor = await conn.execute(statement)
            while cursor.nextset():  # the generation is the last result
                pass
            row = await cursor.fetchone()
            if described is schema and (row is None or int(row[0]) == schema.generation):
                return translation.sql, translation.columns  # the consistent snapshot is still current
            # read in this transaction: the locked tables' rows cannot change any more (others may,
            # so this copy serves this query only)
            now = await load_tap_schema_async(conn)
            wanted = [n for n in translation.tables if now.table(n) is not None]
            if all(described.table(n) == now.table(n) for n in translation.tables) and set(wanted) <= set(locked):
                return translation.sql, translation.columns
            translation, described = translate(now), now
        raise MetadataChangedError("the tables of the query kept changing while it started; try again")

    return pin


def _lock_statement(schema: TapSchema, names: Iterable[str]) -> tuple[list[str], sql.Composable | None]:
    """The published tables among ``names`` (not TAP_UPLOAD ones) and the statement that LOCKs them."""
    tables = [t for t in (schema.table(n) for n in sorted(names)) if t is not None]
    if not tables:
        return [], None
    return [t.name for t in tables], sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(
        sql.SQL(", ").join(sql.Identifier(t.db_schema, t.db_table) for t in tables))


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
        """``attempt(copy in hand)``; again with a fresh copy if it failed while TAP_SCHEMA changed.

        The first attempt takes no extra round trip: the pin step checks the generation inside the
        query's own transaction anyway, and a name the copy does not know yet (a table ingested a moment
        ago) fails translation, which lands here and is retried with the reloaded copy. Only a failure
        before anything was sent is retried (``attempt`` translates and starts a query; its first batch is
        fetched before it returns), so the client never sees a mix.
        """
        for retry in range(RETRIES + 1):
            schema = self._schema if retry == 0 else await self.fresh()
            try:
                return await attempt(schema)
            except (UsageError, MetadataChangedError) as exc:
                try:
                    changed = await self.generation() != schema.generation
                except psycopg.Error:
                    changed = False
                if not changed or retry == RETRIES:
                    raise
                log.info("TAP_SCHEMA changed during a query (%s); retrying with the new metadata", exc.message)
        raise AssertionError("unreachable")
