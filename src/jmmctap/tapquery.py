"""Open a TAP query for streaming: uploads → ADQL → SQL → running query → writer. Shared by sync and async.

``open_query`` is the one owner of the query's connection between the request and the response: it
is an async context manager that gives the connection back when its block is left, on every path
(translation error, writer refusing a column, cancellation…), unless the block has handed the query
to a response with ``PreparedQuery.response()`` — the response then owns it until its body ends,
fails or the client goes away (``responses.CleanStreamingResponse``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from jmmctap import formats, upload
from jmmctap.adql import limits_of, translate_in_thread
from jmmctap.dali import TapRequest
from jmmctap.db.pools import Pools
from jmmctap.query import QueryStream, start
from jmmctap.responses import CleanStreamingResponse
from jmmctap.settings import Settings
from jmmctap.tapschema import TapSchema

__all__ = ["PreparedQuery", "open_query"]


@dataclass
class PreparedQuery:
    """A query whose first rows are fetched, and the writer that will serialise it."""

    writer: formats.Writer
    stream: QueryStream
    info: formats.ResultInfo
    send_timeout_s: float
    _handed_over: bool = field(default=False, repr=False)

    async def __aenter__(self) -> PreparedQuery:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Give the connection back unless a response took it."""
        if not self._handed_over:
            await self.stream.close()

    def response(self, media_type: str | None = None) -> CleanStreamingResponse:
        """The streaming response, which from now on owns the connection (see the module docstring)."""
        body = self.writer.write(self.stream, self.info)
        response = CleanStreamingResponse(
            body, media_type=media_type or self.writer.media_type, cleanup=self.stream.close,
            on_stall=self.stream.set_aside, send_timeout_s=self.send_timeout_s,
        )
        self._handed_over = True
        return response


@contextlib.asynccontextmanager
async def open_query(
    pools: Pools,
    tap_schema: TapSchema,
    settings: Settings,
    request: TapRequest,
    *,
    timeout_s: float,
    sources: Mapping[str, upload.UploadSource] | None = None,
    on_connection: Callable[[int], Awaitable[None]] | None = None,
    label: str = "query",
    client: str = "local",
) -> AsyncIterator[PreparedQuery]:
    """Validate the format, read the uploads, translate the ADQL and start the query (nothing sent yet).

    ``sources`` are the inline upload contents (multipart parts, or a job's stored files); by default
    the request's own files. The connection is given back when the block is left unless
    ``response()`` was called in it.

    Raises
    ------
    jmmctap.errors.UsageError
        Unknown format, a bad upload, invalid ADQL (``AdqlError``), or a query PostgreSQL rejects.
    jmmctap.errors.ServiceUnavailableError
        The database cannot run queries now.
    """
    writer = formats.get(request.response_format or formats.DEFAULT)
    files = request.files if sources is None else sources
    stream: QueryStream | None = None
    try:
        # TAP_UPLOAD tables: metadata read now, rows loaded by `setup` on the query connection
        async with upload.open_uploads(request.uploads, files, settings) as uploads:
            translation = await translate_in_thread(request.query, tap_schema, limits_of(settings),
                                                    extra_tables=uploads.tables)
            stream = await start(
                pools.gate, translation.sql, translation.columns, adql=request.query, maxrec=request.maxrec,
                timeout_s=timeout_s, setup=uploads.setup, on_connection=on_connection, label=label, client=client,
            )
    except BaseException:
        if stream is not None:
            await stream.close()
        raise
    info = formats.ResultInfo(query=request.query, request_time=datetime.now(UTC))
    async with PreparedQuery(writer, stream, info, settings.send_timeout_s) as prepared:
        yield prepared
