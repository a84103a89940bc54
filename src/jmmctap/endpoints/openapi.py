"""``GET /openapi.json``: the OpenAPI 3.1 description of the HTTP API, generated from the endpoints' docstrings.

Each documented endpoint's docstring ends with its OpenAPI operation in YAML after ``---``; starlette's
``SchemaGenerator`` collects them with the routes' paths, so the document follows the code (and the
configured prefix). Only the routes listed by ``DOCUMENTED`` are read: the DALI/VO endpoints are described by
VOSI capabilities instead, and their numpydoc docstrings are not YAML.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.schemas import SchemaGenerator

from jmmctap import __version__
from jmmctap.context import context_of
from jmmctap.endpoints import badcal, catalogs, oidb, tables
from jmmctap.endpoints.urls import service_root

__all__ = ["MEDIA_TYPE", "describe_api", "openapi_json"]

MEDIA_TYPE = "application/json"
"""Media type of the document (OpenAPI's JSON form; ``application/vnd.oai.openapi+json`` is not widely known)."""

_REFUSED = {
    "description": "Refused: the reason is in the `X-HTTP-Error-Description` header and the JSON body.",
    "headers": {catalogs.ERROR_HEADER: {"schema": {"type": "string"}}},
    "content": {"application/json": {"schema": {
        "type": "object", "properties": {"error": {"type": "string"}, "status": {"type": "integer"}}}}},
}


def describe_api(catalogs_path: str, server_url: str | None = None) -> dict[str, Any]:
    """The OpenAPI document of the submission API: the catalog API mounted at ``catalogs_path``, table uploads,
    OIFITS submissions and BadCal reports."""
    base: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "jmmctap submission API", "version": __version__,
                 "description": "JMMC's catalogAPI (as a2p2's `Catalog` uses it): read catalogs, update the rows"
                                " you are PI of, manage delegations; upload tables (votable2tap); submit OIFITS"
                                " files (OiDB); report bad calibrators. Authenticate with Basic (login, password)"
                                " or Bearer (API token)."},
        "components": {
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"},
                                "bearer": {"type": "http", "scheme": "bearer"}},
            "parameters": {
                "name": {"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
                         "description": "catalog: a TAP table name, resolved as in ADQL (`spica` or `spica.spica`)"},
                "id": {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
                       "description": "value of the catalog's key column"},
            },
            "responses": {"refused": _REFUSED},
        },
    }
    if server_url is not None:
        base["servers"] = [{"url": server_url}]
    routes: list[BaseRoute] = [*catalogs.routes(catalogs_path), *tables.routes("/tables"),
                               *badcal.routes("/badcal/reports"), *oidb.routes("/oidb")]
    return SchemaGenerator(base).get_schema(routes=routes)


async def openapi_json(request: Request) -> Response:
    """The OpenAPI document, its server being this service's root URL."""
    ctx = context_of(request)
    document = describe_api(ctx.settings.catalogs_path, service_root(request, ctx.settings))
    # YAML reads the status codes as integers; OpenAPI writes them as strings
    return Response(orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS), media_type=MEDIA_TYPE)
