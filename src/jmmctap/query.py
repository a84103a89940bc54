"""Run a translated query as the SELECT-only role and stream its rows.

Every user query runs through ``start``: a pooled connection of the query role, a READ ONLY
transaction with a statement timeout and the caller's signed principal (``acl.principal``: row-level
security decides what it sees), a server-side cursor read in binary. ``start`` executes the query
and fetches the first batch before returning, so that errors found by PostgreSQL still become a
plain HTTP 400 before the first byte is sent (STYLE §5). The stream's ``close`` (always reached:
end of rows, error, client disconnect) ends the transaction and gives the connection back.

Round trips count for short queries (a crossmatch of 20 ms paid seven of them): the connections are in
autocommit mode so that psycopg sends no BEGIN of its own; the statements that open the transaction
travel with the metadata lock (``Pin``), and the DECLARE with the first FETCH (a pipeline, which also
keeps the DECLARE in the extended protocol: one statement, never several). That is three round trips
to the first rows, and the ROLLBACK of a streamed result comes after its last byte (``defer_close``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import anyio
import psycopg
from psycopg import AsyncConnection, AsyncCursor, generators, pq, sql
from psycopg.pq import TransactionStatus
from psycopg.pq.abc import PGresult
from psycopg.types.numeric import NumericBinaryLoader, NumericLoader

from jmmctap.acl.principal import PrincipalSigner, set_local_principal
from jmmctap.auth import ANONYMOUS, Principal
from jmmctap.db.gate import Lease, Lender
from jmmctap.errors import JmmctapError, QueryError, ServiceUnavailableError
from jmmctap.results import RecordBuilder, ResultColumn, Row

__all__ = ["BATCH_ROWS", "Pin", "QueryError", "QueryStream", "Setup", "configure_query_connection", "start"]

Setup = Callable[[AsyncConnection[Any]], Awaitable[None]]
"""Work done on the query connection before the read-only transaction (e.g. loading TAP_UPLOAD
tables into temporary tables); it runs in its own read-write transaction."""

Pin = Callable[[AsyncConnection[Any], sql.Composable], Awaitable[tuple[str, Sequence[ResultColumn]]]]
"""Opens the read-only transaction (its second argument: the statements to send first, in the same round
trip) and locks the queried tables; returns the SQL and columns to run, translated again if their
metadata changed (``tapschema.live.pin_metadata``)."""

log = logging.getLogger(__name__)

BATCH_ROWS = 5000
"""Rows fetched from the server-side cursor per round trip (and handed to the writer per batch)."""

_DECLARE = b"DECLARE jmmctap_result NO SCROLL CURSOR FOR "
_FETCH = "FETCH FORWARD {} FROM jmmctap_result"


class _FloatNumericLoader(NumericLoader):
    def load(self, data: Any) -> Any:
        return float(super().load(data))


class _FloatNumericBinaryLoader(NumericBinaryLoader):
    def load(self, data: Any) -> Any:
        return float(super().load(data))


async def configure_query_connection(conn: AsyncConnection[Any]) -> None:
    """Pool ``configure`` hook: NUMERIC results (SUM, AVG, ROUND...) load as floats.

    ADQL has no decimal type; the resolver declares such columns ``double``. Autocommit: ``start``
    begins and ends each transaction itself (see the module docstring).
    """
    conn.adapters.register_loader("numeric", _FloatNumericLoader)
    conn.adapters.register_loader("numeric", _FloatNumericBinaryLoader)
    await conn.set_autocommit(True)


class QueryStream:
    """The rows of one running query (implements ``jmmctap.results.ResultStream``).

    It owns its connection from ``start`` on: ``close`` — reached at the end of the rows, on an error,
    on a client disconnect, or when its owner (``tapquery.PreparedQuery``) is left — ends the transaction
    and gives the connection back, once.
    """

    def __init__(
        self,
        gate: Lender,
        lease: Lease,
        cursor: AsyncCursor[Any],
        columns: Sequence[ResultColumn],
        query: str,
        maxrec: int,
        temporary: bool = False,
    ) -> None:
        """``temporary``: a setup step may have created temporary tables, dropped on release."""
        self._gate, self._lease, self._cursor = gate, lease, cursor
        self._columns, self._query, self._maxrec = tuple(columns), query, maxrec
        self._sent = 0
        self._overflowed = False
        self._first: list[Row] = []
        self._closed = False
        self._exhausted = False
        self._temporary = temporary
        self._close_at_end = True
        self._records = False
        self._ahead: asyncio.Future[list[Row]] | None = None

    @property
    def columns(self) -> Sequence[ResultColumn]:
        return self._columns

    @property
    def overflowed(self) -> bool:
        return self._overflowed

    @property
    def query(self) -> str:
        return self._query

    @property
    def records(self) -> bool:
        """Rows are records PostgreSQL built for the writer (``start``'s ``records``)."""
        return self._records

    @property
    def backend_pid(self) -> int:
        """PostgreSQL pid running the query (``pg_cancel_backend`` target for UWS ABORT)."""
        return self._lease.conn.info.backend_pid

    def defer_close(self) -> None:
        """Keep the transaction open past the last row, until ``close``: for an owner that always calls it
        once the response is sent (``tapquery.PreparedQuery``), so that the ROLLBACK is not awaited before
        the end of the document."""
        self._close_at_end = False

    def set_aside(self) -> None:
        """The client stopped reading: stop counting this query among the active ones (``db.gate``)."""
        self._gate.set_aside(self._lease)

    async def declare(self, sql_text: str) -> None:
        """Declare the cursor and fetch the first batch in one round trip, so that execution errors
        surface before any byte is sent."""
        asked = self._asked()
        conn = self._lease.conn
        async with conn.pipeline():
            await conn.execute(_DECLARE + sql_text.encode())
            if asked:
                await self._cursor.execute(_FETCH.format(asked), binary=True)
        self._first = await self._take(asked)

    async def batches(self) -> AsyncIterator[Sequence[Row]]:
        """Yield at most ``maxrec`` rows; set ``overflowed`` when a further row existed.

        The next FETCH is sent before a batch is handed over, so PostgreSQL produces it while the writer
        encodes and sends this one (with records built by the database, its work is most of a download's).
        """
        ended = False
        try:
            batch, self._first = self._first, []
            while batch:
                self._ahead = asyncio.ensure_future(self._fetch()) if self._asked() else None
                yield batch
                batch = await self._next()
            ended = True
        except psycopg.Error as exc:
            raise _user_error(exc) from None
        finally:
            await self._abandon()
            if self._close_at_end or not ended:
                await self.close()

    async def _next(self) -> list[Row]:
        """The batch fetched ahead (shielded: a cancelled reader must not stop psycopg midway; ``_abandon`` does)."""
        ahead, self._ahead = self._ahead, None
        return [] if ahead is None else await asyncio.shield(ahead)

    async def _abandon(self) -> None:
        """Stop a FETCH sent ahead for a reader that left: cancel it in PostgreSQL and wait for its end."""
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return
        with anyio.CancelScope(shield=True):
            if not ahead.done():
                with contextlib.suppress(psycopg.Error):
                    await self._lease.conn.cancel_safe(timeout=2)
            with contextlib.suppress(Exception):
                await ahead

    def _asked(self) -> int:
        """Rows the next FETCH asks for: one row beyond MAXREC tells whether rows were dropped."""
        wanted = self._maxrec + 1 - self._sent
        if wanted <= 0 or self._closed or self._exhausted:
            return 0
        return min(BATCH_ROWS, wanted)

    async def _fetch(self) -> list[Row]:
        asked = self._asked()
        if asked:
            await self._cursor.execute(_FETCH.format(asked), binary=True)
        return await self._take(asked)

    async def _take(self, asked: int) -> list[Row]:
        """The rows of the FETCH just run for ``asked`` rows, cut at MAXREC."""
        if not asked:
            return []
        rows = await self._cursor.fetchall()
        self._exhausted = len(rows) < asked  # a short batch is the last: no round trip to learn it
        if self._sent + len(rows) > self._maxrec:
            self._overflowed = True
            rows = rows[: self._maxrec - self._sent]
        self._sent += len(rows)
        return rows

    async def close(self) -> None:
        """End the transaction and return the connection; safe to call twice, even when cancelled."""
        if self._closed:
            return
        self._closed = True
        await self._abandon()
        with anyio.CancelScope(shield=True):
            await _release(self._gate, self._lease, self._cursor, self._temporary)


async def start(
    gate: Lender, sql_text: str, columns: Sequence[ResultColumn], *,
    adql: str, maxrec: int, timeout_s: float, setup: Setup | None = None,
    on_connection: Callable[[int], Awaitable[None]] | None = None, pin: Pin | None = None,
    label: str = "query", client: str = "local", principal: Principal = ANONYMOUS,
    signer: PrincipalSigner | None = None, fence: int = 0, records: RecordBuilder | None = None,
) -> QueryStream:
    """Execute ``sql_text`` (an ADQL translation) and return its stream, first batch fetched.

    ``setup`` runs first, in its own read-write transaction on the same connection (temporary
    tables only: the query role has no other write privilege). ``on_connection`` receives the
    backend pid before the query starts, so that a UWS job can be cancelled while it executes.
    A connection that turns out dead (database restarted, failed over) is replaced and the query
    run once more: nothing has been sent yet, and the query only reads. ``label`` and ``client``
    name the request for the gate's fair shares and logs.
    ``pin`` runs in the read-only transaction before execution and may replace the SQL and columns
    (``tapschema.live.pin_metadata``: lock the tables, translate again if their metadata changed).
    ``principal`` is who the transaction runs for, signed by ``signer`` in the statement that starts it
    (``acl.principal``): PostgreSQL's row-level security decides from it what the query sees.
    ``fence`` is the WAL position the server running it must have replayed (``db.replicas``: the metadata
    it was translated with, the caller's own writes).
    ``records`` is the writer's offer to have the rows built as its records by PostgreSQL
    (``formats.sqlrecords``); when the result's types allow it, the stream's rows are those records.

    Raises
    ------
    QueryError
        PostgreSQL rejected the query or it timed out (message safe for the client).
    TooManyRequestsError
        The client already runs its share of queries.
    ServiceUnavailableError
        No connection could be had in time, or the database is down.
    ServiceError
        An unexpected database failure (details logged).
    """
    if signer is None and not principal.anonymous:
        raise ValueError("a query for an authenticated principal needs the principal signer")
    for attempt in (1, 2):
        lease = await gate.acquire(label, client, timeout_s, fence=fence)
        try:
            return await _run(gate, lease, sql_text, columns, adql=adql, maxrec=maxrec, timeout_s=timeout_s,
                              setup=setup, on_connection=on_connection, pin=pin,
                              scope=functools.partial(_scope, principal, signer), records=records)
        except psycopg.Error as exc:
            if attempt == 1 and _connection_lost(exc):
                log.warning("query connection lost (%s); retrying on a new one", exc.sqlstate or exc)
                await gate.purge()
                continue
            raise _user_error(exc, sql_text) from None
    raise AssertionError("unreachable")  # pragma: no cover


async def _run(
    gate: Lender, lease: Lease, sql_text: str, columns: Sequence[ResultColumn], *,
    adql: str, maxrec: int, timeout_s: float, setup: Setup | None,
    on_connection: Callable[[int], Awaitable[None]] | None, pin: Pin | None,
    scope: Callable[[int], sql.Composed], records: RecordBuilder | None = None,
) -> QueryStream:
    """Run the query on ``lease``'s connection; on any failure the connection is given back first."""
    conn = lease.conn
    stream = QueryStream(gate, lease, conn.cursor(binary=True), columns, adql, maxrec, temporary=setup is not None)
    try:
        if on_connection is not None:
            await on_connection(conn.info.backend_pid)
        if setup is not None:
            async with conn.transaction():
                await conn.execute("SET TRANSACTION READ WRITE")  # the role's sessions default to read only
                await setup(conn)
        # no parameters: the simple protocol, several statements in one round trip
        opening = sql.SQL("BEGIN READ ONLY; SET LOCAL statement_timeout = {}; {}").format(
            sql.Literal(max(1, int(timeout_s * 1000))), scope(conn.info.backend_pid))
        if pin is not None:
            sql_text, columns = await pin(conn, opening)
            stream._columns = tuple(columns)
        else:
            await conn.execute(opening)
        if records is not None and records.may_build(columns):
            built = records.records_sql(sql_text, columns, await _result_types(conn, sql_text))
            if built is not None:
                sql_text, stream._records = built, True
        await stream.declare(sql_text)
        return stream
    except BaseException:
        await stream.close()
        raise


async def _result_types(conn: AsyncConnection[Any], sql_text: str) -> list[int]:
    """The PostgreSQL type OIDs of the query's columns, from parse analysis only (no plan, no execution).

    psycopg has no public call to describe a statement, so libpq's own is used (Parse, then Describe, of
    the unnamed statement, which psycopg's next extended-protocol query replaces anyway): two short round
    trips, cheaper than planning the query twice with a ``FETCH 0``. ``pg_prepared_statements`` only
    shows result types from PostgreSQL 16 on.
    """
    pgconn = conn.pgconn
    pgconn.send_prepare(b"", sql_text.encode())
    await _command(conn)
    pgconn.send_describe_prepared(b"")
    described = await _command(conn)
    return [described.ftype(i) for i in range(described.nfields)]


async def _command(conn: AsyncConnection[Any]) -> PGresult:
    """The result of the command just sent on ``conn``; its error raised as psycopg raises it."""
    results: list[PGresult] = await conn.wait(generators.execute(conn.pgconn))
    for result in results:
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise psycopg.errors.error_from_result(result, encoding=conn.info.encoding)
    return results[-1]


def _scope(principal: Principal, signer: PrincipalSigner | None, backend_pid: int) -> sql.Composed:
    """The statement setting the transaction's principal, signed now (after a long upload setup too)."""
    return signer.set_local(principal, backend_pid) if signer is not None else set_local_principal("")


_LOST_STATES = frozenset({"57P01", "57P02", "57P03"})
"""admin_shutdown, crash_shutdown, cannot_connect_now: the server ended or refuses the session."""


def _connection_lost(exc: psycopg.Error) -> bool:
    """Whether ``exc`` says the connection died (not that the query was wrong)."""
    state = exc.sqlstate or ""
    return state in _LOST_STATES or state.startswith("08") or (
        isinstance(exc, psycopg.OperationalError) and not state)


_PGSPHERE_INPUT = ("spherepoly_", "spherecircle_", "sphereline_", "spherepoint_", "spherebox_")
"""Prefixes of pgsphere's messages about invalid input shapes (raised as internal errors, XX000)."""


def _user_error(exc: psycopg.Error, sql_text: str | None = None) -> JmmctapError:
    """A client-safe error for a database failure; the SQL and internal details go to the log only."""
    state = exc.sqlstate or ""
    primary = exc.diag.message_primary or ""
    if state == "57014":
        return QueryError("the query was cancelled: it exceeded the time limit")
    if state.startswith("22"):  # data exceptions: division by zero, invalid input, out of range
        return QueryError(f"the query failed: {primary}")
    if state == "XX000" and primary.startswith(_PGSPHERE_INPUT):  # pgsphere refusing a shape made of query values
        return QueryError(f"the query failed: invalid geometry ({primary})")
    if state.startswith("53") or _connection_lost(exc):
        log.error("database unavailable %s: %s", state, primary or exc)
        return ServiceUnavailableError("the database cannot run the query now; try again later")
    reference = secrets.token_hex(4)
    log.error("query failed [%s] %s %s; SQL: %s", reference, state, primary, sql_text)
    return QueryError(f"the query could not be executed (reference {reference})")


async def _release(gate: Lender, lease: Lease, cursor: AsyncCursor[Any], temporary: bool) -> None:
    """Abort whatever runs on the lease's connection and give it back (the pool discards broken ones)."""
    conn = lease.conn
    try:
        if conn.info.transaction_status == TransactionStatus.ACTIVE:
            await conn.cancel_safe(timeout=2)
        await conn.rollback()
        if temporary:
            await conn.execute("DISCARD TEMP")  # upload tables never outlive their query
    except psycopg.Error as exc:
        log.warning("closing a query connection after: %s", exc)
        await conn.close()
    finally:
        with contextlib.suppress(psycopg.Error):
            await cursor.close()  # a client-side cursor: no round trip
        await gate.release(lease)
