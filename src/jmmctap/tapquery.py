"""Prepare a TAP query for streaming: uploads → ADQL → SQL → running query → writer. Shared by sync and async."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from jmmctap import formats
from jmmctap.adql import translate
from jmmctap.auth import Principal
from jmmctap.dali import TapRequest
from jmmctap.db.pools import Pools
from jmmctap.query import QueryStream, start
from jmmctap.querylog import QueryLog
from jmmctap.settings import Settings
from jmmctap.tapschema import TapSchema
from jmmctap.upload import UploadSource, open_uploads

__all__ = ["PreparedQuery", "prepare_query"]


@dataclass(frozen=True)
class PreparedQuery:
    """A query whose first rows are fetched, the writer that will serialise it, and its log line."""

    writer: formats.Writer
    stream: QueryStream
    info: formats.ResultInfo
    log: QueryLog

    def body(self) -> AsyncGenerator[bytes, None]:
        """The serialised result; rows, bytes and outcome are logged when it ends."""
        return self.log.measure(self.writer.write(self.log.watch(self.stream), self.info))


async def prepare_query(
    pools: Pools,
    tap_schema: TapSchema,
    settings: Settings,
    request: TapRequest,
    *,
    principal: Principal,
    timeout_s: float,
    files: Mapping[str, UploadSource],
    job_id: str | None = None,
    on_connection: Callable[[int], Awaitable[None]] | None = None,
) -> PreparedQuery:
    """Validate the format, open the uploads, translate the ADQL and start the query (nothing sent yet).

    The one path of sync queries and async jobs. ``files`` are the inline uploads by part name
    (``UPLOAD=t,param:x`` reads ``files["x"]``): their metadata is read now, their rows are loaded into
    temporary tables on the query connection before the query runs.

    Raises
    ------
    jmmctap.errors.UsageError
        Unknown format, a bad upload, invalid ADQL (``AdqlError``), or a query PostgreSQL rejects.
    jmmctap.errors.ServiceError
        The database cannot run queries now.
    """
    record = QueryLog("query", principal, request.query, kind="sync" if job_id is None else "async", job=job_id)
    try:
        writer = formats.get(request.response_format or formats.DEFAULT)
        async with open_uploads(request.uploads, files, settings, principal=principal) as uploads:
            translation = translate(request.query, tap_schema, extra_tables=uploads.tables)
            stream = await start(
                pools.query, translation.sql, translation.columns, adql=request.query, maxrec=request.maxrec,
                timeout_s=timeout_s, setup=uploads.setup, on_connection=on_connection,
            )
    except BaseException as exc:
        record.fail(exc)
        raise
    info = formats.ResultInfo(query=request.query, request_time=datetime.now(UTC))
    return PreparedQuery(writer, stream, info, record)
