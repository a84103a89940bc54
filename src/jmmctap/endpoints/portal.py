"""The web portal's endpoints (``/``, ``/search/…``, ``/adql``, ``/jobs``, ``/login``): parse, call a view, answer.

``GET /tap`` shows the landing page to browsers (``Accept: text/html``) and answers TAP clients as
before (404: TAP defines no document at the base URL; they read ``/tap/capabilities``).

Logging in is the browser's own Basic authentication, not a session cookie: ``/login`` answers 401
with the same ``WWW-Authenticate`` challenge as every endpoint, the browser asks for the JMMC account
and then sends it with every request to this server. No session state, no cookie to steal or forge
(so no CSRF surface), and the same credentials and tokens as pyvo and TOPCAT. The price: the browser
forgets them only when it is closed.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from jmmctap.accounts.credentials import CHALLENGES
from jmmctap.context import context_of
from jmmctap.endpoints.urls import service_root
from jmmctap.portal import views

__all__ = ["adql", "jobs", "landing", "login", "search", "tap_root"]


async def landing(request: Request) -> Response:
    """The landing page."""
    ctx = context_of(request)
    principal = await ctx.auth.principal_of(request)
    return HTMLResponse(await views.landing_page(ctx, principal, service_root(request, ctx.settings)))


async def tap_root(request: Request) -> Response:
    """``GET /tap``: the landing page for a browser, 404 for a TAP client (as it always was)."""
    if "text/html" not in request.headers.get("accept", ""):
        return PlainTextResponse("Not Found", status_code=404)
    return await landing(request)


async def search(request: Request) -> Response:
    """A catalogue's search form and, once run, its results."""
    ctx = context_of(request)
    principal = await ctx.auth.principal_of(request)
    html = await views.search_page(ctx, principal, service_root(request, ctx.settings),
                                   request.path_params["family"], dict(request.query_params))
    return HTMLResponse(html)


async def adql(request: Request) -> Response:
    """The ADQL page."""
    ctx = context_of(request)
    principal = await ctx.auth.principal_of(request)
    html = await views.adql_page(ctx, principal, service_root(request, ctx.settings), dict(request.query_params))
    return HTMLResponse(html)


async def jobs(request: Request) -> Response:
    """The caller's jobs."""
    ctx = context_of(request)
    principal = await ctx.auth.principal_of(request)
    return HTMLResponse(await views.jobs_page(ctx, principal, service_root(request, ctx.settings)))


async def login(request: Request) -> Response:
    """Ask the browser for the JMMC account (Basic), then go back where the user came from."""
    ctx = context_of(request)
    principal = await ctx.auth.principal_of(request)
    if principal.name is None:
        return HTMLResponse("<!DOCTYPE html><title>Log in</title><p>Log in with your JMMC account to see your"
                            " private data. <a href='/'>Back</a></p>", status_code=401,
                            headers={"WWW-Authenticate": CHALLENGES})
    target = request.query_params.get("next", "/")
    return RedirectResponse(target if target.startswith("/") and not target.startswith("//") else "/", 303)
