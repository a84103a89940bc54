"""``/tap/sync``: run a TAP query and stream its result (TAP 1.1 §2.2)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from jmmctap import dali
from jmmctap.context import context_of
from jmmctap.responses import CleanStreamingResponse
from jmmctap.tapquery import prepare_query

__all__ = ["sync"]


async def sync(request: Request) -> Response:
    """Synchronous query: errors before the first byte are DALI error documents (app handlers)."""
    ctx = context_of(request)
    principal = await ctx.auth.principal_of(request)
    tap_request = await dali.parse_tap_request(request, ctx.settings)
    try:
        prepared = await prepare_query(
            ctx.pools, ctx.tap_schema.schema, ctx.settings, tap_request, principal=principal,
            timeout_s=ctx.settings.query_timeout_s, files=tap_request.files,
        )
    finally:
        await request.close()  # the spooled multipart files
    return CleanStreamingResponse(
        prepared.body(), media_type=prepared.writer.media_type, cleanup=prepared.stream.close,
    )
