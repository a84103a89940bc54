"""Prepare a TAP query for streaming: ADQL → SQL → running query → writer. Shared by sync and async."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from jmmctap import formats
from jmmctap.adql import Translation, translate
from jmmctap.dali import TapRequest
from jmmctap.db.pools import Pools
from jmmctap.query import QueryStream, Setup, start
from jmmctap.settings import Settings
from jmmctap.tapschema import Table, TapSchema
from jmmctap.tapschema.live import LiveTapSchema, pin_metadata

__all__ = ["PreparedQuery", "prepare_query"]


@dataclass(frozen=True)
class PreparedQuery:
    """A query whose first rows are fetched, and the writer that will serialise it."""

    writer: formats.Writer
    stream: QueryStream
    info: formats.ResultInfo


async def prepare_query(
    pools: Pools,
    tap_schema: TapSchema | LiveTapSchema,
    settings: Settings,
    request: TapRequest,
    *,
    timeout_s: float,
    extra_tables: Sequence[Table] = (),
    setup: Setup | None = None,
    on_connection: Callable[[int], Awaitable[None]] | None = None,
) -> PreparedQuery:
    """Validate the format, translate the ADQL and start the query (nothing sent yet).

    With a ``LiveTapSchema`` the metadata is checked to be current first, and pinned to the tables
    inside the query's transaction (``tapschema.live``): read-your-writes after an ingest, and the
    old or the new table during a replace, never an error.

    Raises
    ------
    jmmctap.errors.UsageError
        Unknown format, invalid ADQL (``AdqlError``), or a query PostgreSQL rejects.
    jmmctap.errors.ServiceError
        The database cannot run queries now.
    """
    writer = formats.get(request.response_format or formats.DEFAULT)

    def translated(schema: TapSchema) -> Translation:
        return translate(request.query, schema, extra_tables=extra_tables)

    async def attempt(schema: TapSchema) -> QueryStream:
        translation = translated(schema)
        return await start(
            pools.query, translation.sql, translation.columns, adql=request.query, maxrec=request.maxrec,
            timeout_s=timeout_s, setup=setup, on_connection=on_connection,
            pin=pin_metadata(schema, translation, translated) if isinstance(tap_schema, LiveTapSchema) else None,
        )

    stream = await (tap_schema.run(attempt) if isinstance(tap_schema, LiveTapSchema) else attempt(tap_schema))
    info = formats.ResultInfo(query=request.query, request_time=datetime.now(UTC))
    return PreparedQuery(writer, stream, info)
