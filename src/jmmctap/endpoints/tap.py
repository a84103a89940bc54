"""``/tap/sync``: run a TAP query and stream its result (TAP 1.1 §2.2)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from jmmctap import dali
from jmmctap.responses import CleanStreamingResponse
from jmmctap.tapquery import prepare_query

__all__ = ["sync"]


async def sync(request: Request) -> Response:
    """Synchronous query: errors before the first byte are DALI error documents (app handlers)."""
    state = request.app.state
    tap_request = await dali.parse_tap_request(request, state.settings)
    prepared = await prepare_query(
        state.pools, state.tap_schema, state.settings, tap_request, timeout_s=state.settings.query_timeout_s
    )
    return CleanStreamingResponse(
        prepared.writer.write(prepared.stream, prepared.info),
        media_type=prepared.writer.media_type,
        cleanup=prepared.stream.close,
    )
