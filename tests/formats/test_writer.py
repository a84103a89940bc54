"""The shared batch loop: chunking, the ending, and closing the stream's iterator whatever happens."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from jmmctap import formats
from jmmctap.errors import ServiceError
from jmmctap.formats.writer import CHUNK_ROWS, Ending, encode_stream
from jmmctap.results import ResultColumn, Row
from tests.formats.streams import ListStream

COLUMNS = [ResultColumn("n", "int")]


def _sizes(rows: Sequence[Row]) -> bytes:
    return f"{len(rows)},".encode()


async def _run(stream: ListStream) -> list[bytes | Ending]:
    return [item async for item in encode_stream(stream, _sizes)]


async def test_small_batches_are_merged_into_chunks() -> None:
    stream = ListStream(COLUMNS, [(i,) for i in range(CHUNK_ROWS + 10)], batch=100)
    assert await _run(stream) == [f"{CHUNK_ROWS},".encode(), b"10,", Ending("OK")]


async def test_big_batches_are_split() -> None:
    stream = ListStream(COLUMNS, [(i,) for i in range(2 * CHUNK_ROWS + 1)], batch=10 * CHUNK_ROWS)
    assert await _run(stream) == [f"{CHUNK_ROWS},".encode(), f"{CHUNK_ROWS},".encode(), b"1,", Ending("OK")]


async def test_leftovers_are_merged_with_the_next_batch() -> None:
    stream = ListStream(COLUMNS, [(i,) for i in range(3 * CHUNK_ROWS)], batch=CHUNK_ROWS + 1)
    assert await _run(stream) == [f"{CHUNK_ROWS},".encode()] * 3 + [Ending("OK")]


async def test_overflow_is_read_after_the_rows() -> None:
    assert (await _run(ListStream(COLUMNS, [(1,)], overflowed=True)))[-1] == Ending("OVERFLOW")


async def test_failure_writes_the_rows_received_then_the_error() -> None:
    stream = ListStream(COLUMNS, [(i,) for i in range(5)], batch=2, fail=ServiceError("broken"))
    assert await _run(stream) == [b"5,", Ending("ERROR", "broken")]
    assert stream.closed


async def test_unexpected_exceptions_are_not_swallowed() -> None:
    stream = ListStream(COLUMNS, [(1,)], fail=RuntimeError("bug"))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        await _run(stream)
    assert stream.closed


async def test_stream_is_closed_when_the_consumer_stops_early() -> None:
    stream = ListStream(COLUMNS, [(i,) for i in range(10 * CHUNK_ROWS)], batch=CHUNK_ROWS)
    document = formats.get("votable").write(stream, formats.ResultInfo())
    await anext(document)  # header
    await anext(document)  # first rows
    await document.aclose()  # type: ignore[attr-defined]  # what Starlette does when the client goes away
    assert stream.closed
    assert stream.batches_given == 1
