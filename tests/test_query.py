"""The query layer: read-only, timed out, exact overflow, connections always given back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any, cast

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from jmmctap.db.gate import GateLimits, QueryGate
from jmmctap.errors import ServiceError
from jmmctap.formats.sqlrecords import SqlRecords
from jmmctap.query import BATCH_ROWS, QueryError, QueryStream, start
from jmmctap.results import ResultColumn, Row
from tests.support.pools import open_query_pool

COLUMN = (ResultColumn("x", "long"),)


LIMITS = GateLimits(active=2, slow=0, per_client=4, queue_wait_s=10)


@pytest.fixture
async def pool(query_dsn: str) -> AsyncIterator[QueryGate]:
    """The query pool as queries get it: through the gate."""
    async with open_query_pool(query_dsn, 2) as p:
        yield QueryGate(p, LIMITS)


async def _rows(stream: QueryStream) -> list[Any]:
    return [row async for batch in stream.batches() for row in batch]


async def _series(pool: QueryGate, n: int, maxrec: int) -> QueryStream:
    return await start(pool, f"SELECT g FROM generate_series(1, {n}) AS g", COLUMN, adql="q", maxrec=maxrec,
                       timeout_s=10)


@pytest.mark.parametrize(("n", "maxrec", "expected", "overflow"), [
    (10, 10, 10, False),  # exactly MAXREC rows: nothing dropped, no OVERFLOW
    (11, 10, 10, True),
    (0, 10, 0, False),
    (3, 0, 0, True),      # MAXREC=0: metadata only, OVERFLOW because rows existed
    (0, 0, 0, False),
    (12_001, 12_000, 12_000, True),  # across several fetch batches
])
async def test_overflow_only_when_rows_were_dropped(
    pool: QueryGate, n: int, maxrec: int, expected: int, overflow: bool
) -> None:
    stream = await _series(pool, n, maxrec)
    rows = await _rows(stream)
    assert len(rows) == expected
    assert stream.overflowed is overflow


async def test_numeric_results_arrive_as_floats(pool: QueryGate) -> None:
    stream = await start(pool, "SELECT avg(g) FROM generate_series(1, 4) AS g", COLUMN, adql="q",
                         maxrec=10, timeout_s=10)
    assert await _rows(stream) == [(2.5,)]


async def test_runtime_error_is_raised_before_streaming(pool: QueryGate) -> None:
    with pytest.raises(QueryError, match="division by zero"):
        await start(pool, "SELECT 1 / (g - 1) FROM generate_series(1, 3) AS g", COLUMN, adql="q",
                    maxrec=10, timeout_s=10)


async def test_timeout_cancels_the_query(pool: QueryGate) -> None:
    with pytest.raises(QueryError, match="time limit"):
        await start(pool, "SELECT pg_sleep(5)", COLUMN, adql="q", maxrec=10, timeout_s=0.2)


async def test_writes_are_refused(pool: QueryGate) -> None:
    with pytest.raises(QueryError) as info:
        await start(pool, "DELETE FROM tap_schema.keys RETURNING key_id", COLUMN, adql="q", maxrec=10,
                    timeout_s=10)
    assert "tap_schema" not in str(info.value)  # internal names and SQL stay in the log


async def test_error_midway_is_raised_from_the_stream(pool: QueryGate) -> None:
    stream = await start(pool, "SELECT 1 / (10000 - g) FROM generate_series(1, 20000) AS g", COLUMN, adql="q",
                         maxrec=100_000, timeout_s=10)
    with pytest.raises(QueryError, match="division by zero"):
        await _rows(stream)


async def test_connections_are_returned_after_every_outcome(pool: QueryGate) -> None:
    for _ in range(3):  # more rounds than the pool has connections
        with pytest.raises(QueryError):
            await start(pool, "SELECT 1/0", COLUMN, adql="q", maxrec=1, timeout_s=10)
        await _rows(await _series(pool, 5, 2))
        abandoned = await _series(pool, 20_000, 20_000)
        await abandoned.close()
    assert pool.stats()["in_use"] == 0
    assert pool.stats()["idle"] == pool.stats()["size"]


async def test_closing_midway_leaves_no_backend_in_transaction(
    pool: QueryGate, owner_conn: psycopg.Connection[Any]
) -> None:
    stream = await _series(pool, 1_000_000, 1_000_000)
    batches = stream.batches()
    await anext(batches)
    await stream.close()
    await asyncio.sleep(0.1)
    busy = owner_conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = 'jmmctap_query' AND state <> 'idle'"
    ).fetchone()
    assert busy == (0,)


@pytest.mark.parametrize("leave", ["close the stream", "close the batches"])
async def test_a_fetch_sent_ahead_is_cancelled_when_the_reader_leaves(
    pool: QueryGate, owner_conn: psycopg.Connection[Any], leave: str
) -> None:
    # the first batch comes at once; the FETCH sent ahead for the second one would sleep ten minutes
    stream = await start(pool, f"SELECT g FROM generate_series(1, {2 * BATCH_ROWS}) AS g,"
                         f" LATERAL pg_sleep(CASE WHEN g > {BATCH_ROWS} THEN 600 ELSE 0 END)", COLUMN,
                         adql="q", maxrec=10 * BATCH_ROWS, timeout_s=3600)
    batches = cast(AsyncGenerator[Sequence[Row], None], stream.batches())
    assert len(await anext(batches)) == BATCH_ROWS
    await asyncio.sleep(0.2)  # the FETCH ahead is running in PostgreSQL
    assert stream._ahead is not None and not stream._ahead.done()
    # a liveness bound, not a timing: without the cancel this waits for pg_sleep's ten minutes
    await asyncio.wait_for(stream.close() if leave == "close the stream" else batches.aclose(), 60)
    busy = owner_conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = 'jmmctap_query' AND state <> 'idle'"
    ).fetchone()
    assert busy == (0,)
    assert pool.stats()["in_use"] == 0


async def test_no_connection_is_a_service_error(query_dsn: str) -> None:
    async with AsyncConnectionPool(query_dsn + " port=1", min_size=0, max_size=1, timeout=0.5,
                                   open=False) as broken:
        await broken.open(wait=False)
        with pytest.raises(ServiceError):
            await start(QueryGate(broken, LIMITS), "SELECT 1", COLUMN, adql="q", maxrec=1, timeout_s=1)


async def test_setup_tables_are_visible_to_the_query_and_gone_afterwards(pool: QueryGate) -> None:
    async def load(conn: Any) -> None:
        await conn.execute("CREATE TEMP TABLE up (x bigint)")
        await conn.execute("INSERT INTO up VALUES (7), (8)")

    pids = []

    async def remember(pid: int) -> None:
        pids.append(pid)

    stream = await start(pool, "SELECT x FROM pg_temp.up ORDER BY x", COLUMN, adql="q", maxrec=10,
                         timeout_s=10, setup=load, on_connection=remember)
    assert pids == [stream.backend_pid]
    assert await _rows(stream) == [(7,), (8,)]
    for _ in range(2):  # whichever pooled connection comes next, the table is gone
        with pytest.raises(QueryError):
            await start(pool, "SELECT x FROM pg_temp.up", COLUMN, adql="q", maxrec=10, timeout_s=10)


async def test_a_binary_writer_gets_records_built_by_the_database(pool: QueryGate) -> None:
    stream = await start(pool, "SELECT g FROM generate_series(1, 12001) AS g", COLUMN, adql="q", maxrec=12_000,
                         timeout_s=10, records=SqlRecords(null_flags=True))
    rows = await _rows(stream)
    assert stream.records and stream.overflowed
    assert rows[:2] == [(b"\x00" + (1).to_bytes(8, "big"),), (b"\x00" + (2).to_bytes(8, "big"),)]
    assert len(rows) == 12_000


async def test_records_stay_values_when_a_type_has_no_sql_form(pool: QueryGate) -> None:
    stream = await start(pool, "SELECT gen_random_uuid()::text::uuid", (ResultColumn("u", "char", "*"),), adql="q",
                         maxrec=10, timeout_s=10, records=SqlRecords(null_flags=True))
    rows = await _rows(stream)
    assert not stream.records and len(rows) == 1 and not isinstance(rows[0][0], bytes)


async def test_a_query_error_with_records_is_the_same_error(pool: QueryGate) -> None:
    for sql_text in ("SELECT no_such_column FROM generate_series(1, 3) AS g",
                     "SELECT 1 / (g - 1) FROM generate_series(1, 3) AS g"):
        with pytest.raises(QueryError):
            await start(pool, sql_text, COLUMN, adql="q", maxrec=10, timeout_s=10, records=SqlRecords(null_flags=True))
    stream = await _series(pool, 3, 10)  # and the connections are still good: no prepared statement left behind
    assert len(await _rows(stream)) == 3
