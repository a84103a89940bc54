"""The content coding of a response: what the client accepts (``Accept-Encoding``) within ``JMMCTAP_GZIP_LEVEL``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.requests import Request
from starlette.responses import Response

from jmmctap.compression import CODINGS, VARY, Coding, compress_body, negotiate
from jmmctap.context import context_of

__all__ = ["accepted_coding", "document_response"]


def accepted_coding(request: Request, offered: Iterable[str] = tuple(CODINGS)) -> Coding | None:
    """The coding to send ``request`` its response in; ``None``: identity."""
    return negotiate(request.headers.getlist("accept-encoding"), context_of(request).settings.gzip_level, offered)


def document_response(request: Request, body: bytes, media_type: str, *, status_code: int = 200,
                      headers: Mapping[str, str] | None = None) -> Response:
    """A whole document (VOSI, SCS error), compressed when the client accepts it; ``Vary`` in every case."""
    coding = accepted_coding(request)
    all_headers = {**(headers or {}), **VARY}
    if coding is not None:
        body = compress_body(body, coding)  # at most a few hundred kB: level 1 takes milliseconds
        all_headers["Content-Encoding"] = coding.name
    return Response(body, status_code=status_code, media_type=media_type, headers=all_headers)
