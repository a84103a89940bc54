"""``GET /health`` (JSON) and ``GET /tap/availability`` (VOSI)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from jmmctap import __version__
from jmmctap.db.pools import probe
from jmmctap.vosi import write_availability

__all__ = ["availability", "health"]


async def availability(request: Request) -> Response:
    """VOSI availability: ``available`` is true only when the database answers the query role."""
    reachable, _ = await probe(request.app.state.pools)
    notes = [] if reachable else ["the database does not answer"]
    body = write_availability(reachable, request.app.state.started_at, notes)
    return Response(body, media_type="text/xml")


async def health(request: Request) -> Response:
    """Service health for operators and monitoring."""
    reachable, version = await probe(request.app.state.pools)
    return JSONResponse(
        {
            "service": "jmmctap",
            "version": __version__,
            "started_at": request.app.state.started_at.isoformat(),
            "database": {"reachable": reachable, "schema_version": version},
        },
        status_code=200 if reachable else 503,
    )
