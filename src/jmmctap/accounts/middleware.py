"""Every HTTP request is authenticated before its endpoint runs, and an authenticated response says as whom.

Doing it here, not in each endpoint, means no endpoint (TAP, UWS, VOSI, SCS, ``/health``) can forget:
wrong credentials get 401 everywhere, and every response to an authenticated request carries
``X-VO-Authenticated`` (IVOA AuthVO "Authentication Confirmation"; never on anonymous responses).
Endpoints that need the principal ask ``ctx.auth.principal_of(request)`` and get the one found here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jmmctap.context import context_of

__all__ = ["AUTHENTICATED_HEADER", "AuthenticationMiddleware"]

AUTHENTICATED_HEADER = "X-VO-Authenticated"
"""Response header naming the authenticated user (IVOA AuthVO)."""

_HEADER_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%")
"""Characters a header value keeps as is; others (non-ASCII user names) are percent-encoded."""

Refusal = Callable[[Request, Exception], Awaitable[Response]]
"""Renders a failed authentication (401, 429, 503) in the endpoint's error format."""


class AuthenticationMiddleware:
    """Authenticate with the process context's authenticator; ``render`` answers when that fails."""

    def __init__(self, app: ASGIApp, render: Refusal, refused: tuple[type[Exception], ...]) -> None:
        self.app = app
        self.render = render
        self.refused = refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            principal = await context_of(request).auth.principal_of(request)
        except self.refused as exc:
            response = await self.render(request, exc)
            await response(scope, receive, send)
            return
        if principal.name is None:
            await self.app(scope, receive, send)
            return
        identity = quote(principal.name, safe=_HEADER_SAFE).encode("ascii")

        async def send_identity(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (AUTHENTICATED_HEADER.lower().encode(), identity)]
            await send(message)

        await self.app(scope, receive, send_identity)
