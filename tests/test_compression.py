"""Content coding: which coding an Accept-Encoding asks for, and gzip streams that end right in every case."""

from __future__ import annotations

import random
import zlib
from collections.abc import AsyncIterator

import pytest

from jmmctap import compression
from jmmctap.compression import Coding, compress_body, compress_stream, negotiate
from jmmctap.errors import ServiceError


@pytest.mark.parametrize(("headers", "expected"), [
    ([], None),                                   # no header: identity (RFC 9110 allows any; clients expect none)
    ([""], None),                                 # empty: identity only
    (["gzip"], "gzip"),
    (["GZip"], "gzip"),
    (["x-gzip"], "gzip"),
    (["deflate"], "deflate"),
    (["gzip, deflate, br, zstd"], "gzip"),        # httpx and requests
    (["deflate, gzip"], "gzip"),                  # a tie: ours is gzip
    (["deflate;q=1, gzip;q=0.5"], "deflate"),
    (["gzip;q=0"], None),
    (["gzip; q=0.000"], None),
    (["gzip;q=0, deflate"], "deflate"),
    (["*"], "gzip"),
    (["*;q=0"], None),
    (["*;q=0, gzip"], "gzip"),
    (["*;q=0.5, gzip;q=0"], "deflate"),
    (["identity"], None),                         # gzip not listed, no `*`: not acceptable
    (["identity, gzip;q=0.5"], None),             # identity is preferred
    (["gzip;q=0.5, identity;q=0.5"], "gzip"),
    (["gzip, identity;q=0"], "gzip"),
    (["br"], None),
    (["br, gzip;q=0.8"], "gzip"),
    (["gzip;q=often"], None),                     # an unreadable q-value leaves its coding out
    (["gzip;q=nan"], None),
    (["gzip;level=9"], "gzip"),                   # other parameters are ignored
    (["br", "gzip"], "gzip"),                     # several Accept-Encoding headers count together
])
def test_negotiate_honours_the_accept_encoding_rules(headers: list[str], expected: str | None) -> None:
    chosen = negotiate(headers, 1)
    assert (chosen.name if chosen else None) == expected


def test_level_zero_turns_compression_off() -> None:
    assert negotiate(["gzip"], 0) is None


def test_negotiate_offers_only_what_the_response_can_have() -> None:
    assert negotiate(["deflate"], 6, offered=("gzip",)) is None
    assert negotiate(["deflate, gzip;q=0.1"], 6, offered=("gzip",)) == Coding("gzip", 6)


@pytest.mark.parametrize(("coding", "wbits"), [("gzip", 31), ("deflate", 15)])
def test_a_document_decodes_as_its_coding(coding: str, wbits: int) -> None:
    body = b"<VOTABLE>" + b"<TR><TD>1</TD></TR>" * 1000 + b"</VOTABLE>"
    assert zlib.decompress(compress_body(body, Coding(coding, 1)), wbits) == body


class _Source:
    """Chunks for ``compress_stream``, recording whether they were closed; an optional error after them."""

    def __init__(self, chunks: list[bytes], error: Exception | None = None) -> None:
        self.chunks, self.error, self.closed, self.taken = chunks, error, False, 0

    async def generate(self) -> AsyncIterator[bytes]:
        try:
            for chunk in self.chunks:
                self.taken += 1
                yield chunk
            if self.error is not None:
                raise self.error
        finally:
            self.closed = True


_RANDOM = random.Random(14)
CHUNKS = [b"<VOTABLE>head</VOTABLE>", *(_RANDOM.randbytes(300_000) for _ in range(6)), b"<INFO/>"]
"""A head, chunks that compress badly (each gives output at once), a tail."""


async def test_a_stream_decodes_to_its_chunks_and_is_finished() -> None:
    source = _Source(CHUNKS)
    decoder = zlib.decompressobj(31)
    out = b"".join([decoder.decompress(part) async for part in compress_stream(source.generate(), Coding("gzip", 1))])
    assert out == b"".join(CHUNKS) and decoder.eof and not decoder.unused_data
    assert source.closed


async def test_the_head_of_a_document_is_sent_before_the_next_chunk_is_asked_for() -> None:
    source = _Source(CHUNKS)
    stream = compress_stream(source.generate(), Coding("gzip", 6))
    first = await anext(stream)
    assert zlib.decompressobj(31).decompress(first) == CHUNKS[0]
    assert source.taken == 1
    await stream.aclose()


async def test_a_chunk_that_came_slowly_is_sent_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compression, "FLUSH_AFTER_S", 0.0)  # every chunk counts as slow
    source = _Source(CHUNKS)
    decoder = zlib.decompressobj(31)
    stream = compress_stream(source.generate(), Coding("gzip", 1))
    for expected in CHUNKS:
        assert decoder.decompress(await anext(stream)) == expected
    await stream.aclose()


async def test_closing_the_stream_early_closes_its_source() -> None:
    source = _Source(CHUNKS)
    stream = compress_stream(source.generate(), Coding("gzip", 1))
    await anext(stream)
    await anext(stream)
    await stream.aclose()
    assert source.closed and source.taken < len(CHUNKS)


async def test_a_failing_source_leaves_the_stream_unfinished() -> None:
    source = _Source(CHUNKS[:3], ServiceError("boom"))
    decoder = zlib.decompressobj(31)
    with pytest.raises(ServiceError):
        async for part in compress_stream(source.generate(), Coding("gzip", 1)):
            decoder.decompress(part)
    assert not decoder.eof  # the client sees a truncated response, not a complete-looking one
    assert source.closed
