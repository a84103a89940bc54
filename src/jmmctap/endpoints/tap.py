"""``/tap/sync``: run a TAP query and stream its result (TAP 1.1 §2.2)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from jmmctap import dali
from jmmctap.context import context_of
from jmmctap.endpoints.caller import caller_of
from jmmctap.endpoints.coding import accepted_coding
from jmmctap.endpoints.urls import service_root
from jmmctap.tapquery import open_query

__all__ = ["sync"]


async def sync(request: Request) -> Response:
    """Synchronous query, gzip when accepted; errors before the first byte are DALI error documents (app handlers)."""
    ctx = context_of(request)
    principal = await ctx.auth.principal_of(request)
    tap_request = await dali.parse_tap_request(request, ctx.settings)
    label, client = caller_of(request, tap_request.query)
    try:
        async with open_query(
            ctx.pools, ctx.tap_schema, ctx.settings, tap_request, principal=principal,
            timeout_s=ctx.settings.query_timeout_s, files=tap_request.files, label=label, client=client,
            service_root=service_root(request, ctx.settings),
        ) as prepared:
            return prepared.response(coding=accepted_coding(request))
    finally:
        await request.close()  # the spooled multipart files
