"""Build the ASGI application: routes, lifespan (the process context), error rendering."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import psycopg
from psycopg_pool import PoolTimeout
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jmmctap import formats, scs
from jmmctap.accesslog import AccessLogMiddleware
from jmmctap.accounts.middleware import AuthenticationMiddleware
from jmmctap.context import open_process_context
from jmmctap.endpoints import products, status, tap, uws, vosi
from jmmctap.endpoints import scs as scs_endpoint
from jmmctap.errors import JmmctapError, ServiceUnavailableError
from jmmctap.settings import Settings

__all__ = ["create_app"]

log = logging.getLogger(__name__)

_VOTABLE = "application/x-votable+xml"


async def _render_error(request: Request, exc: Exception) -> Response:
    """Every jmmctap error becomes a DALI error VOTable with the error's HTTP status (DALI 1.1 §4.2)."""
    assert isinstance(exc, JmmctapError)
    if exc.http_status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.message)
    return Response(formats.write_error(exc.message), status_code=exc.http_status, media_type=_VOTABLE,
                    headers=dict(exc.http_headers))


async def _render_database_down(request: Request, exc: Exception) -> Response:
    """The database went away under an endpoint (UWS store, health): 503, so that clients retry."""
    log.error("%s %s: database unavailable: %s", request.method, request.url.path, exc)
    return await _render_error(request, ServiceUnavailableError("the database is not available; try again later", 30))


async def _render_unexpected(request: Request, exc: Exception) -> Response:
    """A bug: log the traceback, tell the client only that it happened."""
    log.exception("%s %s crashed", request.method, request.url.path, exc_info=exc)
    return Response(formats.write_error("internal error of the service; it has been logged"), status_code=500,
                    media_type=_VOTABLE)


async def _render_refusal(request: Request, exc: Exception) -> Response:
    """Authentication failed (401, 429) or could not be done (503): the error document the endpoint would send."""
    if not isinstance(exc, JmmctapError):
        return await _render_database_down(request, exc)
    if request.url.path.startswith("/scs/"):  # SCS 1.03 clients read their own error form
        return Response(scs.write_scs_error(exc.message), status_code=exc.http_status, media_type=scs.MEDIA_TYPE,
                        headers=dict(exc.http_headers))
    return await _render_error(request, exc)


def create_app(settings: Settings) -> Starlette:
    """The jmmctap application; nothing connects until the lifespan opens the process context."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_process_context(settings, job_slots=settings.async_workers) as context:
            app.state.context = context  # read only through ``context_of``
            yield

    routes = [
        Route("/health", status.health, methods=["GET"]),
        Route("/tap/availability", status.availability, methods=["GET"]),
        Route("/tap/sync", tap.sync, methods=["GET", "POST"]),
        Route("/tap/capabilities", vosi.capabilities, methods=["GET"]),
        Route("/tap/tables", vosi.tables, methods=["GET"]),
        Route("/tap/tables/{table_name:path}", vosi.table, methods=["GET"]),
        Route("/tap/examples", vosi.examples, methods=["GET"]),
        *uws.routes("/tap/async"),
        Route("/scs/{catalogue}", scs_endpoint.cone_search, methods=["GET", "POST"]),
        Route("/products/{sha256}/{name}", products.product_file, methods=["GET", "HEAD"]),
        Route("/previews/{sha256}.png", products.preview, methods=["GET", "HEAD"]),
        Route("/datalink/links", products.links, methods=["GET", "POST"]),
    ]
    return Starlette(
        routes=routes, lifespan=lifespan,
        middleware=[  # outermost first: the access log sees who the authentication found
            Middleware(AccessLogMiddleware),
            Middleware(AuthenticationMiddleware, render=_render_refusal,
                       refused=(JmmctapError, psycopg.OperationalError, PoolTimeout)),
        ],
        exception_handlers={
            JmmctapError: _render_error, psycopg.OperationalError: _render_database_down,
            PoolTimeout: _render_database_down, Exception: _render_unexpected,
        },
    )
