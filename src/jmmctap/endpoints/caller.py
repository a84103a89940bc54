"""Who a request comes from, as the query gate and its logs name it."""

from __future__ import annotations

from starlette.requests import Request

from jmmctap.querylog import adql_digest

__all__ = ["caller_of"]


def caller_of(request: Request, text: str) -> tuple[str, str]:
    """``(label, client)``: method, path and a digest of the query text; the client's address."""
    client = request.client.host if request.client is not None else "unknown"
    return f"{request.method} {request.url.path} {adql_digest(text)}", client
