"""``GET /health`` (JSON), ``/health/live`` and ``/health/ready`` (load balancers), ``GET /tap/availability`` (VOSI)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from jmmctap.acl.principal import groups_of
from jmmctap.context import context_of
from jmmctap.db.pools import probe
from jmmctap.endpoints.coding import document_response
from jmmctap.health import collect_health
from jmmctap.pages import render_health
from jmmctap.vosi import write_availability

__all__ = ["availability", "health", "live", "ready"]


async def availability(request: Request) -> Response:
    """VOSI availability: ``available`` is true only when the database answers the query role."""
    ctx = context_of(request)
    reachable, _ = await probe(ctx.pools)
    notes = [] if reachable else ["the database does not answer"]
    body = write_availability(reachable, ctx.started_at, notes)
    return document_response(request, body, "text/xml")


async def live(request: Request) -> Response:
    """Liveness: 200 while the process answers HTTP at all (nothing else is checked: a restart would not help)."""
    return JSONResponse({"status": "live"}, headers={"Cache-Control": "no-store"})


async def ready(request: Request) -> Response:
    """Readiness: 200 when the database answers and the process is not draining, else 503 saying why."""
    ctx = context_of(request)
    why = await ctx.readiness.check(ctx.pools)
    if why is None:
        return JSONResponse({"status": "ready"}, headers={"Cache-Control": "no-store"})
    return JSONResponse({"status": "not ready", "reason": why}, status_code=503,
                        headers={"Cache-Control": "no-store", "Retry-After": "5"})


async def health(request: Request) -> Response:
    """Service health: JSON by default, HTML for browsers (``Accept: text/html``) or ``?format=html``."""
    ctx = context_of(request)
    principal = await ctx.auth.principal_of(request)  # tables as the caller may see them
    everything = await ctx.tap_schema.fresh()  # a table granted a moment ago is hidden already
    visible = everything.visible_to(groups_of(principal))
    hidden = frozenset(everything.names()) - frozenset(visible.names())
    report = await collect_health(ctx.pools, visible, ctx.started_at, hidden)
    status_code = 200 if report.reachable else 503
    wanted = request.query_params.get("format", "").lower()
    if wanted == "html" or (not wanted and "text/html" in request.headers.get("accept", "")):
        return HTMLResponse(render_health(report), status_code=status_code)
    return JSONResponse(report.as_json(), status_code=status_code)
