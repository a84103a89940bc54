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

import gzip
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable
from pathlib import Path

import anyio
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from jmmctap.compression import VARY, Coding

__all__ = ["STALL_AFTER_S", "CleanStreamingResponse", "stored_result_response"]

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


def stored_result_response(path: Path, *, gzipped: bool, media_type: str, size: int,
                           coding: Coding | None) -> Response:
    """A stored result in its own media type: the file as it is when the client accepts how it is stored.

    A gzipped file goes as-is, with ``Content-Encoding: gzip``, to a client whose ``coding`` is gzip
    (no CPU spent; Range requests apply to the gzip bytes, RFC 9110 §14); to any other client it is
    decompressed while it is sent, ``size`` (the uncompressed length) announced as ``Content-Length``.
    """
    headers = dict(VARY)
    if not gzipped:
        return FileResponse(path, media_type=media_type, headers=headers)
    if coding is not None and coding.name == "gzip":
        return FileResponse(path, media_type=media_type, headers={**headers, "Content-Encoding": "gzip"})
    headers["Content-Length"] = str(size)
    return CleanStreamingResponse(_gunzipped(path), media_type=media_type, headers=headers)


async def _gunzipped(path: Path) -> AsyncGenerator[bytes, None]:
    with gzip.open(path, "rb") as source:  # read(n) returns at most n bytes: memory stays flat
        while chunk := await anyio.to_thread.run_sync(source.read, _READ_BYTES):
            yield chunk
