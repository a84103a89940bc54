"""Who a request comes from, as the query gate and its logs name it."""

from __future__ import annotations

from starlette.requests import Request

from jmmctap.accounts.credentials import CHALLENGES
from jmmctap.auth import Principal
from jmmctap.errors import AuthenticationError
from jmmctap.querylog import adql_digest

__all__ = ["caller_of", "require_login"]


def caller_of(request: Request, text: str) -> tuple[str, str]:
    """``(label, client)``: method, path and a digest of the query text; the client's address."""
    client = request.client.host if request.client is not None else "unknown"
    return f"{request.method} {request.url.path} {adql_digest(text)}", client


def require_login(principal: Principal, action: str) -> str:
    """The caller's login; an anonymous caller gets 401 with the challenges of every endpoint.

    Raises
    ------
    AuthenticationError
        ``principal`` is anonymous (``action`` says what needs a login).
    """
    if principal.name is None:
        raise AuthenticationError(f"sign in to {action} (HTTP Basic or a Bearer token)", CHALLENGES)
    return principal.name
