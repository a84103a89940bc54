"""Open a TAP query for streaming: uploads → ADQL → SQL → running query → writer. Shared by sync and async.

``open_query`` is the one owner of the query's connection between the request and the response: it
is an async context manager that gives the connection back when its block is left, on every path
(translation error, writer refusing a column, cancellation…), unless the block has handed the query
to a response with ``PreparedQuery.response()`` — the response then owns it until its body ends,
fails or the client goes away (``responses.CleanStreamingResponse``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from jmmctap import formats
from jmmctap.acl.principal import groups_of
from jmmctap.adql import Translation, limits_of, translate, translate_in_thread
from jmmctap.auth import Principal
from jmmctap.compression import VARY, Coding, compress_stream
from jmmctap.dali import TapRequest
from jmmctap.db.gate import Lender
from jmmctap.db.pools import Pools
from jmmctap.products.catalog import public_root
from jmmctap.products.datalink import datalink_descriptor
from jmmctap.query import QueryStream, start
from jmmctap.querylog import QueryLog
from jmmctap.responses import CleanStreamingResponse
from jmmctap.settings import Settings
from jmmctap.tapschema import TapSchema
from jmmctap.tapschema.live import LiveTapSchema, pin_metadata
from jmmctap.upload import UploadSource, open_uploads

__all__ = ["PreparedQuery", "open_query"]


@dataclass
class PreparedQuery:
    """A query whose first rows are fetched, the writer that will serialise it, and its log line."""

    writer: formats.Writer
    stream: QueryStream
    info: formats.ResultInfo
    log: QueryLog
    send_timeout_s: float
    _handed_over: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        self.stream.defer_close()  # closed here or by the response's cleanup, after the last byte

    async def __aenter__(self) -> PreparedQuery:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Give the connection back unless a response took it."""
        if not self._handed_over:
            await self.stream.close()
            self.log.finish("interrupted")  # does nothing when the body was written to its end

    def body(self) -> AsyncGenerator[bytes, None]:
        """The serialised result; rows, bytes and outcome are logged when it ends."""
        return self.log.measure(self.writer.write(self.log.watch(self.stream), self.info))

    def response(self, media_type: str | None = None, coding: Coding | None = None) -> CleanStreamingResponse:
        """The streaming response (in ``coding`` when given), which from now on owns the connection (see above)."""
        body = self.body()
        headers = dict(VARY)
        if coding is not None:
            body = compress_stream(body, coding)
            headers["Content-Encoding"] = coding.name
        response = CleanStreamingResponse(
            body, media_type=media_type or self.writer.media_type, cleanup=self.stream.close,
            on_stall=self.stream.set_aside, send_timeout_s=self.send_timeout_s, headers=headers,
        )
        self._handed_over = True
        return response


@contextlib.asynccontextmanager
async def open_query(
    pools: Pools,
    tap_schema: LiveTapSchema,
    settings: Settings,
    request: TapRequest,
    *,
    principal: Principal,
    timeout_s: float,
    files: Mapping[str, UploadSource],
    job_id: str | None = None,
    on_connection: Callable[[int], Awaitable[None]] | None = None,
    label: str = "query",
    client: str = "local",
    service_root: str | None = None,
    values: bool = False,
) -> AsyncIterator[PreparedQuery]:
    """Validate the format, open the uploads, translate the ADQL and start the query (nothing sent yet).

    The one path of sync queries and async jobs. ``files`` are the inline uploads by part name
    (``UPLOAD=t,param:x`` reads ``files["x"]``): their metadata is read now, their rows are loaded into
    temporary tables on the query connection before the query runs. The connection is given back
    when the block is left unless ``response()`` was called in it. ``label`` and ``client`` name the
    request for the query gate (fair shares, logs of long holds).

    The metadata is pinned to the tables inside the query's transaction (``tapschema.live``):
    read-your-writes after an ingest, and the old or the new table during a replace, never an error.
    ADQL names resolve among the tables ``principal`` may see, and the query runs for it: PostgreSQL's
    row-level security filters the rows (``acl``). A sync query without uploads runs on a read replica when
    one serves and has replayed the metadata's WAL position (``db.replicas``). ``service_root`` (this
    service's root URL, default ``products.public_root``) is where the DataLink service descriptor of
    ObsCore results points.
    The rows are for the writer, which may have PostgreSQL build them as its records (``formats.sqlrecords``);
    a caller that reads the rows itself asks for ``values``.

    Raises
    ------
    jmmctap.errors.UsageError
        Unknown format, a bad upload, invalid ADQL (``AdqlError``), or a query PostgreSQL rejects.
    jmmctap.errors.ServiceUnavailableError
        The database cannot run queries now.
    """
    record = QueryLog("query", principal, request.query, kind="sync" if job_id is None else "async", job=job_id)
    stream: QueryStream | None = None
    try:
        writer = formats.get(request.response_format or formats.DEFAULT)
        limits = limits_of(settings)
        # uploads need temporary tables (none on a hot standby), jobs are aborted by backend pid on the primary
        lender: Lender = pools.gate if request.uploads or job_id is not None else pools.reads
        async with open_uploads(request.uploads, files, settings, principal=principal) as uploads:

            def translated(schema: TapSchema) -> Translation:  # again, under the tables' lock (rare)
                return translate(request.query, schema, extra_tables=uploads.tables, limits=limits)

            async def attempt(schema: TapSchema) -> QueryStream:
                visible = schema.visible_to(groups_of(principal))  # a table granted to others is unknown
                translation = await translate_in_thread(request.query, visible, limits, extra_tables=uploads.tables)
                writer.check(translation.columns)  # a format that cannot hold a column: 400 before a connection
                return await start(
                    lender, translation.sql, translation.columns, adql=request.query, maxrec=request.maxrec,
                    timeout_s=timeout_s, setup=uploads.setup, on_connection=on_connection, label=label,
                    client=client, pin=pin_metadata(visible, translation, translated), principal=principal,
                    signer=pools.signer, fence=schema.lsn, records=None if values else formats.record_builder(writer),
                )

            stream = await tap_schema.run(attempt)
    except BaseException as exc:
        if stream is not None:
            await stream.close()
        record.fail(exc)
        raise
    info = formats.ResultInfo(query=request.query, request_time=datetime.now(UTC),
                              services=(datalink_descriptor(service_root or public_root(settings)),))
    async with PreparedQuery(writer, stream, info, record, settings.send_timeout_s) as prepared:
        yield prepared
