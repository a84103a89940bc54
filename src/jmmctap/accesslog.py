"""The access log: one ``access`` line per HTTP request, written when its response has been sent.

A pure ASGI middleware (it wraps ``send``), so streamed results keep streaming: the line is written
after the last byte, with the bytes really sent, or when the client went away.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jmmctap.auth import PRINCIPAL_SCOPE_KEY
from jmmctap.logs import log_event

__all__ = ["AccessLogMiddleware"]

log = logging.getLogger("jmmctap.access")


class AccessLogMiddleware:
    """Log method, path, status, bytes, duration, client and authenticated user of every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500  # unless a response starts: an exception escaped every handler
        sent = 0

        async def counting_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            client = scope.get("client")
            principal = scope.get(PRINCIPAL_SCOPE_KEY)  # set once the request's credentials were accepted
            log_event(log, "access", {
                "method": scope["method"], "path": scope["path"], "status": status, "bytes": sent,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
                "client": f"{client[0]}:{client[1]}" if client else None,
                "user": None if principal is None else str(principal),
            })
