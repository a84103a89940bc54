"""``/oai``: the OAI-PMH 2.0 publishing registry (GET or urlencoded POST), and ``/oai/capabilities`` (VOSI)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from jmmctap.context import context_of
from jmmctap.endpoints.coding import document_response
from jmmctap.errors import PayloadTooLargeError
from jmmctap.registry import answer_oai, write_registry_capabilities

__all__ = ["MAX_OAI_BODY_BYTES", "capabilities", "oai"]

MAX_OAI_BODY_BYTES = 64 * 1024
"""Largest POST body of an OAI-PMH request (a verb and at most five short arguments)."""
_XML = "text/xml"


async def oai(request: Request) -> Response:
    """Answer an OAI-PMH request; names are case-sensitive here (OAI-PMH §3.1), unlike DALI's."""
    ctx = context_of(request)
    pairs = request.query_params.multi_items()
    if request.method == "POST":
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_OAI_BODY_BYTES:
                raise PayloadTooLargeError(f"an OAI-PMH request body has at most {MAX_OAI_BODY_BYTES} bytes")
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    params: dict[str, list[str]] = {}
    for name, value in pairs:
        params.setdefault(name, []).append(value)
    registry = ctx.registry
    snapshot = await registry.snapshot()
    document = answer_oai(params, snapshot, registry.identity, f"{registry.root_url}/oai",
                          ctx.settings.oai_page_size)
    return document_response(request, document, _XML)


async def capabilities(request: Request) -> Response:
    """VOSI capabilities of the registry: OAI-PMH harvesting (``vg:Harvest``) and this document."""
    registry = context_of(request).registry
    return document_response(request, write_registry_capabilities(registry.root_url, registry.settings.oai_page_size),
                             _XML)
