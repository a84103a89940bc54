"""``/tap/sync``: run a TAP query and stream its result (TAP 1.1 §2.2)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from jmmctap import dali, upload
from jmmctap.responses import CleanStreamingResponse
from jmmctap.tapquery import prepare_query

__all__ = ["sync"]


async def sync(request: Request) -> Response:
    """Synchronous query: errors before the first byte are DALI error documents (app handlers)."""
    state = request.app.state
    tap_request = await dali.parse_tap_request(request, state.settings)
    try:
        # TAP_UPLOAD tables: metadata read now, rows loaded by `setup` on the query connection
        async with upload.open_uploads(tap_request.uploads, tap_request.files, state.settings) as uploads:
            prepared = await prepare_query(
                state.pools, state.live_tap_schema, state.settings, tap_request,
                timeout_s=state.settings.query_timeout_s,
                extra_tables=uploads.tables, setup=uploads.setup,
            )
    finally:
        await request.close()  # the spooled multipart files
    return CleanStreamingResponse(
        prepared.writer.write(prepared.stream, prepared.info),
        media_type=prepared.writer.media_type,
        cleanup=prepared.stream.close,
    )
