"""Build the ASGI application: routes, lifespan (pools, TAP_SCHEMA), error rendering."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jmmctap import formats, scs
from jmmctap.adql import features as adql_features
from jmmctap.db.connect import conninfos
from jmmctap.db.pools import open_pools
from jmmctap.endpoints import scs as scs_endpoint
from jmmctap.endpoints import status, tap, uws, vosi
from jmmctap.errors import JmmctapError
from jmmctap.settings import Settings
from jmmctap.tapschema import load_tap_schema_async
from jmmctap.tapschema.live import LiveTapSchema
from jmmctap.tapschema.watch import watch_tap_schema
from jmmctap.upload import UPLOAD_METHODS
from jmmctap.uws.execute import JobExecutor
from jmmctap.uws.runtime import start_uws
from jmmctap.vosi import describe_tap_service, read_examples
from jmmctap.vosi.capabilities import Capability, DataModel, Limits

__all__ = ["create_app"]

log = logging.getLogger(__name__)

_VOTABLE = "application/x-votable+xml"


def _setter(app: Starlette, name: str) -> Callable[[object], None]:
    """A callback that replaces ``app.state.<name>`` (state is read per request, so no lock is needed)."""
    return lambda value: setattr(app.state, name, value)


async def _render_error(request: Request, exc: Exception) -> Response:
    """Every jmmctap error becomes a DALI error VOTable with the error's HTTP status (DALI 1.1 §4.2)."""
    assert isinstance(exc, JmmctapError)
    if exc.http_status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.message)
    return Response(formats.write_error(exc.message), status_code=exc.http_status, media_type=_VOTABLE)


async def _render_unexpected(request: Request, exc: Exception) -> Response:
    """A bug: log the traceback, tell the client only that it happened."""
    log.exception("%s %s crashed", request.method, request.url.path, exc_info=exc)
    return Response(formats.write_error("internal error of the service; it has been logged"), status_code=500,
                    media_type=_VOTABLE)


def create_app(settings: Settings) -> Starlette:
    """The jmmctap application; nothing connects until the lifespan starts."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pools = await open_pools(settings)
        try:
            async with pools.owner.connection() as conn:
                app.state.tap_schema = await load_tap_schema_async(conn)
            # app.state.tap_schema: the newest copy; live: checked per query (read-your-writes)
            live = LiveTapSchema(pools.owner, app.state.tap_schema, _setter(app, "tap_schema"))
            app.state.live_tap_schema = live
            app.state.pools = pools
            app.state.started_at = datetime.now(UTC)
            async with anyio.create_task_group() as background:
                background.start_soon(watch_tap_schema, conninfos(settings).owner, live.offer)
                executor = JobExecutor.create(pools, lambda: live, settings)
                async with start_uws(pools, settings, executor, settings.async_workers) as runtime:
                    app.state.uws = runtime
                    yield
                background.cancel_scope.cancel()
        finally:
            await pools.close()

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
    ]
    app = Starlette(
        routes=routes, lifespan=lifespan,
        exception_handlers={JmmctapError: _render_error, Exception: _render_unexpected},
    )
    app.state.settings = settings
    # VOSI capabilities from the registries of the output formats and of the ADQL engine's features
    app.state.tap_capabilities = describe_tap_service(
        settings,
        [(f.mime, f.aliases, f.ivo_id) for f in formats.all_formats()],
        adql_features.ADQL_VERSIONS,
        [(kind, form, text) for kind, forms in adql_features.LANGUAGE_FEATURES.items() for form, text in forms]
        + [(adql_features.UDF_FEATURE_TYPE, form, text) for form, text in adql_features.UDFS],
        data_models=[DataModel("ivo://ivoa.net/std/ObsCore#core-1.1", "ObsCore-1.1")],
        upload_methods=UPLOAD_METHODS,
        upload_limit_bytes=Limits(settings.upload_max_bytes, settings.upload_max_bytes),
        others=[Capability(scs.CONE_SEARCH_ID, f"/scs/{c.name}?", use="base") for c in scs.CATALOGUES],
    )
    app.state.examples = read_examples()
    return app
