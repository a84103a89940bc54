"""HTTP content coding of responses: the coding a client accepts (RFC 9110 §12.5.3), and gzip/deflate applied.

Results, VOSI documents and cone searches are sent ``gzip`` (or ``deflate``) when the request's
``Accept-Encoding`` accepts it. Why not Starlette's ``GZipMiddleware`` (starlette 1.10):

- it compresses when ``"gzip" in Accept-Encoding``, so ``gzip;q=0`` (RFC 9110: "not acceptable") is
  compressed too, ``*`` and ``identity;q=0`` are ignored, and ``deflate`` is never offered;
- it compresses inside ``send``: ``responses.CleanStreamingResponse`` times ``send`` to find clients that
  stopped reading, and would count our compression as the client's stall;
- it compresses a chunk, then asks for the next one: here chunk N is compressed in a worker thread
  (zlib releases the GIL) while chunk N+1 is encoded, so on two cores gzip costs little wall time.

So the endpoints negotiate with :func:`negotiate` and wrap their bytes with :func:`compress_stream`
(streamed results, constant memory) or :func:`compress_body` (small documents), all on stdlib ``zlib``.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from contextlib import suppress
from dataclasses import dataclass

import anyio

__all__ = ["CODINGS", "FLUSH_AFTER_S", "VARY", "Coding", "compress_body", "compress_stream", "negotiate"]

CODINGS: dict[str, int] = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
"""The content codings we produce, preferred first, with their zlib ``wbits`` (RFC 9110 §8.4.1: ``deflate``
is the zlib format of RFC 1950, which every HTTP client decodes; gzip is what most clients ask for)."""

VARY = {"Vary": "Accept-Encoding"}
"""Header of every negotiated response, coded or not, so that caches keep the codings apart (RFC 9110 §12.5.5)."""

FLUSH_AFTER_S = 1.0
"""A chunk that took this long to come is compressed, flushed (Z_SYNC_FLUSH) and sent at once: a slow
query's rows reach the client as they come instead of waiting in zlib's buffers or for the next chunk."""

_ALIASES = {"x-gzip": "gzip"}  # RFC 9110 §8.4.1.3: a recipient SHOULD treat x-gzip as gzip


@dataclass(frozen=True)
class Coding:
    """A content coding chosen for one response, and its zlib compression level (1 fastest to 9 smallest)."""

    name: str
    level: int

    def compressor(self) -> zlib._Compress:
        """A new zlib compressor producing this coding."""
        return zlib.compressobj(self.level, zlib.DEFLATED, CODINGS[self.name])


def negotiate(accept_encoding: Iterable[str], level: int, offered: Iterable[str] = tuple(CODINGS)) -> Coding | None:
    """The coding to send for these ``Accept-Encoding`` header values, ``None`` for none (identity).

    RFC 9110 §12.5.3: a coding is acceptable when listed (or matched by ``*``) with a q-value above
    0. The highest q-value wins; on a tie a coding is preferred to identity and gzip to deflate.
    ``identity`` competes with its own or ``*``'s q-value; unlisted, it is chosen only when no coding
    is acceptable (``br, gzip;q=0.8`` means gzip rather than nothing). No header, an empty one, level 0
    (compression off) or nothing acceptable all mean identity, as the RFC advises.

    Parameters
    ----------
    accept_encoding
        Every ``Accept-Encoding`` header of the request (usually zero or one).
    level
        zlib level of the service (``Settings.gzip_level``); 0 turns compression off.
    offered
        The codings this response can have (a stored gzip file: only gzip), preferred first.
    """
    if level <= 0:
        return None
    weights = _weights(accept_encoding)
    default = weights.get("*")
    best: tuple[float, str] | None = None
    for name in offered:
        q = weights.get(name, default or 0.0)
        if q > 0 and (best is None or q > best[0]):
            best = (q, name)
    if best is None:
        return None
    identity = weights.get("identity", default or 0.0)  # unlisted: acceptable, but after any listed coding
    return Coding(best[1], level) if best[0] >= identity else None


def _weights(values: Iterable[str]) -> dict[str, float]:
    """``{coding: q}`` of Accept-Encoding values; an item with an unreadable q-value is left out."""
    weights: dict[str, float] = {}
    for value in values:
        for item in value.split(","):
            name, *params = (part.strip() for part in item.split(";"))
            name = _ALIASES.get(name.lower(), name.lower())
            if not name:
                continue
            q = 1.0
            for param in params:
                key, _, raw = param.partition("=")
                if key.strip().lower() == "q":
                    try:
                        q = min(max(float(raw.strip()), 0.0), 1.0)
                    except ValueError:
                        q = -1.0
            if q >= 0:  # nan fails both comparisons of the clamp: left out too
                weights[name] = max(q, weights.get(name, 0.0))
    return weights


def compress_body(body: bytes, coding: Coding) -> bytes:
    """``body`` in ``coding``, complete (for documents small enough to compress in the event loop)."""
    compressor = coding.compressor()
    return compressor.compress(body) + compressor.flush()


async def compress_stream(chunks: AsyncIterator[bytes], coding: Coding) -> AsyncGenerator[bytes, None]:
    """``chunks`` in ``coding``, streamed in constant memory; the coded stream is finished when they end.

    Chunks are compressed in a worker thread. While the producer is fast, chunk N is compressed while
    chunk N+1 is produced (one chunk in flight) and its output is sent when N+1 arrives. The first chunk
    (the head of the document) and any chunk that took ``FLUSH_AFTER_S`` or more to come are compressed,
    flushed (Z_SYNC_FLUSH) and sent at once: a response starts as it would uncompressed, and a slow
    query's rows reach the client as they come. When ``chunks`` raise, the coded stream is left
    unfinished, so that the client sees a truncated response rather than a complete-looking one.
    ``chunks`` is closed in every case (client gone, job stopped), which ends the query behind them.
    """
    compressor = coding.compressor()
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[bytes] | None = None
    try:
        first = True
        asked = time.monotonic()
        async for chunk in chunks:
            slow = first or time.monotonic() - asked >= FLUSH_AFTER_S
            first = False
            ready = b"" if pending is None else await pending
            pending = loop.run_in_executor(None, _compress, compressor, chunk, slow)
            if slow:  # nothing to overlap with: send this chunk now
                ready += await pending
                pending = None
            if ready:
                yield ready
            asked = time.monotonic()
        ready = b"" if pending is None else await pending
        pending = None
        yield ready + compressor.flush()
    finally:
        with anyio.CancelScope(shield=True):
            if pending is not None:  # the compressor is not ours again until its thread is done
                with suppress(Exception):
                    await pending
            closer = getattr(chunks, "aclose", None)
            if closer is not None:
                await closer()


def _compress(compressor: zlib._Compress, chunk: bytes, flush: bool) -> bytes:
    out = compressor.compress(chunk)
    return out + compressor.flush(zlib.Z_SYNC_FLUSH) if flush else out
