"""A streaming HTTP response that always cleans up: on disconnect, on failure, and when the client stops reading.

Also the response of a stored async result, in the coding the client accepts (``stored_result_response``).

Starlette's ``StreamingResponse`` notices a disconnect only at the next ``send`` (ASGI 2.4) and
then abandons the body generator without closing it, so the cursor and transaction stay open
until garbage collection (a backend was seen "idle in transaction" for 47 s). Here a listener
task watches for ``http.disconnect`` during the whole response, and ``finally`` closes the body
and runs the ``cleanup`` callback inside a shielded scope.

A client that stops reading (a full socket buffer: ``send`` does not return) must not keep a
database connection from the others (issue 13): after ``STALL_AFTER_S`` the ``on_stall`` callback
sets the query aside (``db.gate``), and after ``send_timeout_s`` without progress the response is
ended and its connection returned.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from jmmctap.compression import VARY, Coding

__all__ = ["STALL_AFTER_S", "CleanStreamingResponse", "Reader", "StoredBytes", "stored_result_response"]

log = logging.getLogger(__name__)

STALL_AFTER_S = 0.25
"""Seconds a single ``send`` may wait for the client before the client counts as not reading."""

_READ_BYTES = 1 << 20
"""Bytes of a stored gzipped result decompressed at a time for a client that does not accept gzip."""


class _SendClock:
    """When the pending ``send`` began (``None``: not sending), for the stall watcher."""

    def __init__(self) -> None:
        self.since: float | None = None

    def wrap(self, send: Send) -> Send:
        async def timed(message: Message) -> None:
            self.since = time.monotonic()
            try:
                await send(message)
            finally:
                self.since = None

        return timed


class CleanStreamingResponse(StreamingResponse):
    """``StreamingResponse`` that stops at once on disconnect or stall and always runs ``cleanup``."""

    def __init__(
        self,
        content: AsyncIterable[bytes],
        *,
        media_type: str,
        cleanup: Callable[[], Awaitable[None]] | None = None,
        on_stall: Callable[[], None] | None = None,
        send_timeout_s: float | None = None,
        headers: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> None:
        super().__init__(content, status_code=status_code, media_type=media_type, headers=headers)
        self._cleanup = cleanup
        self._on_stall = on_stall
        self._send_timeout_s = send_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        clock = _SendClock()
        try:
            async with anyio.create_task_group() as group:

                async def stream_then_stop() -> None:
                    await self.stream_response(clock.wrap(send))
                    group.cancel_scope.cancel()

                group.start_soon(stream_then_stop)
                if self._on_stall is not None or self._send_timeout_s is not None:
                    group.start_soon(self._watch_stalls, clock, group.cancel_scope, _client(scope))
                await self.listen_for_disconnect(receive)
                group.cancel_scope.cancel()
        except OSError:  # the client went away while we were sending
            pass
        finally:
            with anyio.CancelScope(shield=True):
                closer = getattr(self.body_iterator, "aclose", None)
                if closer is not None:
                    await closer()
                if self._cleanup is not None:
                    await self._cleanup()

    async def _watch_stalls(self, clock: _SendClock, scope: anyio.CancelScope, client: str) -> None:
        """Set the query aside once the client stalls; end the response once it stalled too long."""
        stalled_reported = False
        while True:
            await anyio.sleep(STALL_AFTER_S / 2)
            since = clock.since
            if since is None:
                continue
            waited = time.monotonic() - since
            if waited >= STALL_AFTER_S and not stalled_reported and self._on_stall is not None:
                stalled_reported = True
                self._on_stall()
            if self._send_timeout_s is not None and waited >= self._send_timeout_s:
                log.warning("client %s read nothing for %.0f s: response ended", client, waited)
                scope.cancel()
                return


def _client(scope: Scope) -> str:
    peer = scope.get("client")
    return f"{peer[0]}:{peer[1]}" if peer else "unknown"


Reader = Callable[[int, int | None], AsyncIterator[bytes]]
"""Bytes ``start`` to ``end`` (exclusive; None: to the end) of a stored file, a chunk at a time."""


@dataclass(frozen=True)
class StoredBytes:
    """A stored file as a response sends it: a local ``path`` (sent by the OS), or else ``read`` by ranges."""

    size: int
    gzipped: bool
    etag: str
    read: Reader
    path: Path | None = None


def stored_result_response(stored: StoredBytes, *, media_type: str, size: int, coding: Coding | None,
                           request_headers: Mapping[str, str]) -> Response:
    """A stored result in its own media type: the bytes as they are when the client accepts how they are stored.

    A gzipped file goes as-is, with ``Content-Encoding: gzip``, to a client whose ``coding`` is gzip
    (no CPU spent; Range requests apply to the gzip bytes, RFC 9110 §14); to any other client it is
    decompressed while it is sent, ``size`` (the uncompressed length) announced as ``Content-Length``.
    """
    headers = dict(VARY)
    as_stored = not stored.gzipped or (coding is not None and coding.name == "gzip")
    if stored.gzipped and as_stored:
        headers["Content-Encoding"] = "gzip"
    if as_stored and stored.path is not None:
        return FileResponse(stored.path, media_type=media_type, headers=headers)
    if as_stored:
        return _ranged_response(stored, media_type, headers, request_headers)
    headers["Content-Length"] = str(size)
    return CleanStreamingResponse(_gunzipped(stored.read(0, None)), media_type=media_type, headers=headers)


def _ranged_response(stored: StoredBytes, media_type: str, headers: dict[str, str],
                     request_headers: Mapping[str, str]) -> Response:
    """The stored bytes, or one range of them (206) when asked (RFC 9110 §14.2); several ranges get it all."""
    headers.update({"Accept-Ranges": "bytes", "ETag": stored.etag})
    wanted = request_headers.get("range")
    if_range = request_headers.get("if-range")
    span = None if wanted is None or (if_range is not None and if_range != stored.etag) else _range(wanted, stored.size)
    if span == "unsatisfiable":
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{stored.size}"})
    if isinstance(span, tuple):
        start, end = span
        headers.update({"Content-Range": f"bytes {start}-{end - 1}/{stored.size}", "Content-Length": str(end - start)})
        return CleanStreamingResponse(stored.read(start, end), media_type=media_type, headers=headers,
                                      status_code=206)
    headers["Content-Length"] = str(stored.size)
    return CleanStreamingResponse(stored.read(0, None), media_type=media_type, headers=headers)


def _range(header: str, size: int) -> tuple[int, int] | str | None:
    """``bytes=a-b``, ``bytes=a-`` or ``bytes=-n`` as [start, end); None to send everything (other units, lists)."""
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    try:
        if not dash:
            return None
        if first == "":
            suffix = int(last)
            return "unsatisfiable" if suffix <= 0 or size == 0 else (max(size - suffix, 0), size)
        start = int(first)
        end = size if last == "" else min(int(last) + 1, size)
    except ValueError:
        return None
    if start < 0 or (last != "" and int(last) < start):
        return None
    return "unsatisfiable" if start >= size else (start, end)


async def _gunzipped(chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    """The gzip stream decompressed a bounded piece at a time: memory stays flat whatever the ratio."""
    decompressor = zlib.decompressobj(wbits=31)
    try:
        async for chunk in chunks:
            pending = chunk
            while pending:
                piece = await anyio.to_thread.run_sync(decompressor.decompress, pending, _READ_BYTES)
                pending = decompressor.unconsumed_tail
                if piece:
                    yield piece
        if tail := decompressor.flush():
            yield tail
    finally:
        closer = getattr(chunks, "aclose", None)
        if closer is not None:
            await closer()
