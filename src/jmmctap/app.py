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
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from jmmctap import formats, scs
from jmmctap.accesslog import AccessLogMiddleware
from jmmctap.accounts.middleware import AuthenticationMiddleware
from jmmctap.context import context_of, open_process_context
from jmmctap.endpoints import badcal, catalogs, oai, oidb, openapi, portal, products, status, tables, tap, uws, vosi
from jmmctap.endpoints import scs as scs_endpoint
from jmmctap.errors import JmmctapError, ServiceUnavailableError
from jmmctap.health import Readiness
from jmmctap.portal.render import STATIC_DIR
from jmmctap.settings import Settings

__all__ = ["create_app"]

log = logging.getLogger(__name__)

_VOTABLE = "application/x-votable+xml"


async def _render_error(request: Request, exc: Exception) -> Response:
    """Every jmmctap error becomes a DALI error VOTable with the error's HTTP status (DALI 1.1 §4.2)."""
    assert isinstance(exc, JmmctapError)
    if exc.http_status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.message)
    if _is_catalog_api(request):  # JMMC's catalogAPI: X-HTTP-Error-Description and JSON (a2p2)
        return catalogs.error_response(exc)
    return Response(formats.write_error(exc.message), status_code=exc.http_status, media_type=_VOTABLE,
                    headers=dict(exc.http_headers))


def _is_catalog_api(request: Request) -> bool:
    prefix = context_of(request).settings.catalogs_path
    return request.url.path == prefix or request.url.path.startswith(prefix + "/")


async def _render_database_down(request: Request, exc: Exception) -> Response:
    """The database went away under an endpoint (UWS store, health): 503, so that clients retry."""
    log.error("%s %s: database unavailable: %s", request.method, request.url.path, exc)
    return await _render_error(request, ServiceUnavailableError("the database is not available; try again later", 30))


async def _render_unexpected(request: Request, exc: Exception) -> Response:
    """A bug: log the traceback, tell the client only that it happened."""
    log.exception("%s %s crashed", request.method, request.url.path, exc_info=exc)
    if _is_catalog_api(request):
        return catalogs.error_response(JmmctapError("internal error of the service; it has been logged"))
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


def create_app(settings: Settings, readiness: Readiness | None = None) -> Starlette:
    """The jmmctap application; nothing connects until the lifespan opens the process context.

    ``readiness`` is drained by ``serve`` on SIGTERM (``/health/ready`` then answers 503).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_process_context(settings, job_slots=settings.async_workers, readiness=readiness) as context:
            app.state.context = context  # read only through ``context_of``
            yield

    routes = [
        Route("/health", status.health, methods=["GET"]),
        Route("/health/live", status.live, methods=["GET", "HEAD"]),
        Route("/health/ready", status.ready, methods=["GET", "HEAD"]),
        Route("/tap/availability", status.availability, methods=["GET"]),
        Route("/tap/sync", tap.sync, methods=["GET", "POST"]),
        Route("/tap/capabilities", vosi.capabilities, methods=["GET"]),
        Route("/tap/tables", vosi.tables, methods=["GET"]),
        Route("/tap/tables/{table_name:path}", vosi.table, methods=["GET"]),
        Route("/tap/examples", vosi.examples, methods=["GET"]),
        *uws.routes("/tap/async"),
        Route("/scs/{catalogue}", scs_endpoint.cone_search, methods=["GET", "POST"]),
        Route("/scs/{catalogue}/capabilities", scs_endpoint.capabilities, methods=["GET"]),
        Route("/oai", oai.oai, methods=["GET", "POST"]),
        Route("/oai/capabilities", oai.capabilities, methods=["GET"]),
        Route("/", portal.landing, methods=["GET"]),
        Route("/tap", portal.tap_root, methods=["GET"]),
        Route("/search/{family:path}", portal.search, methods=["GET"]),
        Route("/adql", portal.adql, methods=["GET"]),
        Route("/jobs", portal.jobs, methods=["GET"]),
        Route("/login", portal.login, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        *catalogs.routes(settings.catalogs_path),
        Route("/openapi.json", openapi.openapi_json, methods=["GET"]),
        *tables.routes("/tables"),
        *badcal.routes("/badcal/reports"),
        *oidb.routes("/oidb"),
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
