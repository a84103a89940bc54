"""Run a translated query as the SELECT-only role and stream its rows.

Every user query runs through ``start``: a pooled connection of the query role, a READ ONLY
transaction with a statement timeout, a binary server-side cursor. ``start`` executes the query
and fetches the first batch before returning, so that errors found by PostgreSQL still become a
plain HTTP 400 before the first byte is sent (STYLE §5). The stream's ``close`` (always reached:
end of rows, error, client disconnect) closes the cursor, ends the transaction and gives the
connection back.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import anyio
import psycopg
from psycopg import AsyncConnection, AsyncServerCursor, sql
from psycopg.pq import TransactionStatus
from psycopg.types.numeric import NumericBinaryLoader, NumericLoader
from psycopg_pool import AsyncConnectionPool

from jmmctap.errors import JmmctapError, ServiceError, UsageError
from jmmctap.results import ResultColumn, Row

__all__ = ["BATCH_ROWS", "Pin", "QueryError", "QueryStream", "Setup", "configure_query_connection", "start"]

Setup = Callable[[AsyncConnection[Any]], Awaitable[None]]
"""Work done on the query connection before the read-only transaction (e.g. loading TAP_UPLOAD
tables into temporary tables); it runs in its own read-write transaction."""

Pin = Callable[[AsyncConnection[Any]], Awaitable[tuple[str, Sequence[ResultColumn]]]]
"""Run in the read-only transaction just before execution: locks the queried tables and returns
the SQL and columns to run, translated again if their metadata changed (``tapschema.live.pin_metadata``)."""

log = logging.getLogger(__name__)

BATCH_ROWS = 5000
"""Rows fetched from the server-side cursor per round trip (and handed to the writer per batch)."""

_CURSOR_NAME = "jmmctap_result"


class QueryError(UsageError):
    """The database rejected or aborted the user's query; the message is safe to show."""


class _FloatNumericLoader(NumericLoader):
    def load(self, data: Any) -> Any:
        return float(super().load(data))


class _FloatNumericBinaryLoader(NumericBinaryLoader):
    def load(self, data: Any) -> Any:
        return float(super().load(data))


async def configure_query_connection(conn: AsyncConnection[Any]) -> None:
    """Pool ``configure`` hook: NUMERIC results (SUM, AVG, ROUND...) load as floats.

    ADQL has no decimal type; the resolver declares such columns ``double``.
    """
    conn.adapters.register_loader("numeric", _FloatNumericLoader)
    conn.adapters.register_loader("numeric", _FloatNumericBinaryLoader)
    await conn.set_autocommit(False)


class QueryStream:
    """The rows of one running query (implements ``jmmctap.results.ResultStream``)."""

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        conn: AsyncConnection[Any],
        cursor: AsyncServerCursor[Any],
        columns: Sequence[ResultColumn],
        query: str,
        maxrec: int,
        temporary: bool = False,
    ) -> None:
        """``temporary``: a setup step may have created temporary tables, dropped on release."""
        self._pool, self._conn, self._cursor = pool, conn, cursor
        self._columns, self._query, self._maxrec = tuple(columns), query, maxrec
        self._sent = 0
        self._overflowed = False
        self._first: list[Row] = []
        self._closed = False
        self._temporary = temporary

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
    def backend_pid(self) -> int:
        """PostgreSQL pid running the query (``pg_cancel_backend`` target for UWS ABORT)."""
        return self._conn.info.backend_pid

    async def fetch_first(self) -> None:
        """Fetch the first batch now, so that execution errors surface before any byte is sent."""
        self._first = await self._fetch()

    async def batches(self) -> AsyncIterator[Sequence[Row]]:
        """Yield at most ``maxrec`` rows; set ``overflowed`` when a further row existed."""
        try:
            batch, self._first = self._first, []
            while batch:
                yield batch
                batch = await self._fetch()
        except psycopg.Error as exc:
            raise _user_error(exc) from None
        finally:
            await self.close()

    async def _fetch(self) -> list[Row]:
        wanted = self._maxrec + 1 - self._sent  # one row beyond MAXREC tells whether rows were dropped
        if wanted <= 0 or self._closed:
            return []
        rows = await self._cursor.fetchmany(min(BATCH_ROWS, wanted))
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
        with anyio.CancelScope(shield=True):
            await _release(self._pool, self._conn, self._cursor, self._temporary)


async def start(
    pool: AsyncConnectionPool[Any], sql_text: str, columns: Sequence[ResultColumn], *,
    adql: str, maxrec: int, timeout_s: float, setup: Setup | None = None,
    on_connection: Callable[[int], Awaitable[None]] | None = None, pin: Pin | None = None,
) -> QueryStream:
    """Execute ``sql_text`` (an ADQL translation) and return its stream, first batch fetched.

    ``setup`` runs first, in its own read-write transaction on the same connection (temporary
    tables only: the query role has no other write privilege). ``on_connection`` receives the
    backend pid before the query starts, so that a UWS job can be cancelled while it executes.
    ``pin`` runs in the read-only transaction before execution and may replace the SQL and columns
    (``tapschema.live.pin_metadata``: lock the tables, translate again if their metadata changed).

    Raises
    ------
    QueryError
        PostgreSQL rejected the query or it timed out (message safe for the client).
    ServiceError
        No connection could be had, or an unexpected database failure (details logged).
    """
    try:
        conn = await pool.getconn()
    except Exception as exc:  # PoolTimeout, OperationalError: the service, not the user
        log.error("no query connection: %s", exc)
        raise ServiceError("the database is not available; try again later") from None
    stream = None
    try:
        if on_connection is not None:
            await on_connection(conn.info.backend_pid)
        if setup is not None:
            await conn.execute("SET TRANSACTION READ WRITE")
            await setup(conn)
            await conn.commit()
        await conn.execute("SET TRANSACTION READ ONLY")
        await conn.execute(
            sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(max(1, int(timeout_s * 1000))))
        )
        if pin is not None:
            sql_text, columns = await pin(conn)
        cursor = conn.cursor(name=_CURSOR_NAME, binary=True)
        stream = QueryStream(pool, conn, cursor, columns, adql, maxrec, temporary=setup is not None)
        await cursor.execute(sql_text.encode())
        await stream.fetch_first()
        return stream
    except BaseException as exc:
        if stream is not None:
            await stream.close()
        else:
            with anyio.CancelScope(shield=True):
                await _release(pool, conn, None, setup is not None)
        if isinstance(exc, psycopg.Error):
            raise _user_error(exc, sql_text) from None
        raise


def _user_error(exc: psycopg.Error, sql_text: str | None = None) -> JmmctapError:
    """A client-safe error for a database failure; the SQL and internal details go to the log only."""
    state = exc.sqlstate or ""
    primary = exc.diag.message_primary or ""
    if state == "57014":
        return QueryError("the query was cancelled: it exceeded the time limit")
    if state.startswith("22"):  # data exceptions: division by zero, invalid input, out of range
        return QueryError(f"the query failed: {primary}")
    if state.startswith("53") or state.startswith("08"):
        log.error("database resource failure %s: %s", state, primary)
        return ServiceError("the database cannot run the query now; try again later")
    reference = secrets.token_hex(4)
    log.error("query failed [%s] %s %s; SQL: %s", reference, state, primary, sql_text)
    return QueryError(f"the query could not be executed (reference {reference})")


async def _release(
    pool: AsyncConnectionPool[Any], conn: AsyncConnection[Any], cursor: AsyncServerCursor[Any] | None = None,
    temporary: bool = False,
) -> None:
    """Abort whatever runs on ``conn`` and give it back to the pool (which discards broken ones)."""
    try:
        if conn.info.transaction_status == TransactionStatus.ACTIVE:
            await conn.cancel_safe(timeout=2)
        await conn.rollback()
        if cursor is not None:
            await cursor.close()  # after the rollback: no round trip, just marks it closed
        if temporary:
            await conn.execute("DISCARD TEMP")  # upload tables never outlive their query
            await conn.commit()
    except psycopg.Error as exc:
        log.warning("closing a query connection after: %s", exc)
        await conn.close()
    finally:
        await pool.putconn(conn)
