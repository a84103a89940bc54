"""The catalog API (JMMC's catalogAPI, as a2p2's ``Catalog`` calls it): parse, call the service, answer JSON.

Success: 200 with JSON, or 204 for a change (a2p2 reads 204 as "done"). Failure: the status, the reason in
``X-HTTP-Error-Description`` (where a2p2 looks for it) and a JSON body ``{"error": reason}``, rendered once by
``app.py`` for every path under the prefix. The YAML after ``---`` in each endpoint's docstring is its
OpenAPI operation (``endpoints/openapi.py``).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jmmctap.auth import Principal
from jmmctap.catalogs.service import CatalogService
from jmmctap.catalogs.store import CatalogStore
from jmmctap.context import context_of
from jmmctap.errors import JmmctapError, PayloadTooLargeError, UsageError

__all__ = ["ERROR_HEADER", "MAX_BODY_BYTES", "error_response", "routes"]

ERROR_HEADER = "X-HTTP-Error-Description"
"""Response header carrying the reason of a refusal (JMMC catalogAPI; a2p2 puts it in its exception)."""

MAX_BODY_BYTES = 20_000_000
"""Largest JSON body accepted (rows to write, delegations)."""

_JSON = "application/json"


def routes(prefix: str) -> list[Route]:
    """The catalog API under ``prefix``; fixed paths before ``{name}`` so a catalog never shadows them."""
    return [
        Route(prefix, list_catalogs, methods=["GET"]),
        Route(f"{prefix}/delegations", get_delegations, methods=["GET"]),
        Route(f"{prefix}/delegations", put_delegations, methods=["PUT"]),
        Route(f"{prefix}/audit", get_audit, methods=["GET"]),
        Route(f"{prefix}/meta/{{name}}", get_metadata, methods=["GET"]),
        Route(f"{prefix}/accounts/{{name}}", get_accounts, methods=["GET"]),
        Route(f"{prefix}/{{name}}/{{id}}", get_row, methods=["GET"]),
        Route(f"{prefix}/{{name}}/{{id}}", put_row, methods=["PUT"]),
        Route(f"{prefix}/{{name}}", put_rows, methods=["PUT"]),
        Route(f"{prefix}/{{name}}", post_rows, methods=["POST"]),
    ]


def error_response(exc: JmmctapError) -> Response:
    """A refusal as the catalogAPI sends it: status, ``X-HTTP-Error-Description``, JSON body."""
    headers = {**exc.http_headers, ERROR_HEADER: _header_text(exc.message)}
    return Response(orjson.dumps({"error": exc.message, "status": exc.http_status}), status_code=exc.http_status,
                    media_type=_JSON, headers=headers)


async def list_catalogs(request: Request) -> Response:
    """The catalogs the caller may read.
    ---
    summary: List the catalogs
    description: The catalogs (tables whose rows their PIs edit) the caller may read, with their descriptions.
    responses:
      200:
        description: "`{table_name: description}`"
        content: {application/json: {schema: {type: object, additionalProperties: {type: string}}}}
    """
    service, principal = await _service(request)
    return _json(await service.list_catalogs(principal))


async def get_metadata(request: Request) -> Response:
    """The columns of a catalog.
    ---
    summary: Describe a catalog's columns
    parameters: [{$ref: "#/components/parameters/name"}]
    responses:
      200:
        description: >-
          One object per column (name, description, datatype, arraysize, xtype, unit, ucd, utype, as VOLLT's
          JSON `metadata`); the key column has `"primary-key": true`, the PI columns `"pi-column": true`.
        content: {application/json: {schema: {type: array, items: {type: object}}}}
      404: {$ref: "#/components/responses/refused"}
    """
    service, principal = await _service(request)
    return _json(await service.metadata(principal, request.path_params["name"]))


async def get_accounts(request: Request) -> Response:
    """The PIs of a catalog and their logins.
    ---
    summary: List a catalog's PIs
    parameters: [{$ref: "#/components/parameters/name"}]
    security: [{basic: []}, {bearer: []}]
    responses:
      200:
        description: >-
          `{"pi": [{"name", "login", "delegations"}], "admins"}`: the PI names in the rows the caller may see, the
          login of each when known, and the co-Is of the caller's own (admins: of all).
        content: {application/json: {schema: {type: object}}}
      401: {$ref: "#/components/responses/refused"}
      404: {$ref: "#/components/responses/refused"}
    """
    service, principal = await _service(request)
    return _json(await service.accounts(principal, request.path_params["name"]))


async def get_row(request: Request) -> Response:
    """One row of a catalog.
    ---
    summary: Read a row
    parameters: [{$ref: "#/components/parameters/name"}, {$ref: "#/components/parameters/id"}]
    responses:
      200:
        description: The row as an object of column → value.
        content: {application/json: {schema: {type: object}}}
      404: {$ref: "#/components/responses/refused"}
    """
    service, principal = await _service(request)
    return _json(await service.row(principal, request.path_params["name"], request.path_params["id"]))


async def put_row(request: Request) -> Response:
    """Change one row.
    ---
    summary: Update a row
    description: Only the row's PI, the co-Is the PI delegated the catalog to, and admins may change it.
    parameters: [{$ref: "#/components/parameters/name"}, {$ref: "#/components/parameters/id"}]
    security: [{basic: []}, {bearer: []}]
    requestBody:
      content: {application/json: {schema: {type: object, description: "column → new value"}}}
    responses:
      204: {description: Changed (and recorded in the audit).}
      400: {$ref: "#/components/responses/refused"}
      401: {$ref: "#/components/responses/refused"}
      403: {$ref: "#/components/responses/refused"}
      404: {$ref: "#/components/responses/refused"}
    """
    service, principal = await _service(request)
    await service.update_rows(principal, request.path_params["name"], await _body(request),
                              key=request.path_params["id"])
    return Response(status_code=204)


async def put_rows(request: Request) -> Response:
    """Change several rows, all or none.
    ---
    summary: Update rows
    description: >-
      Each object names its row by the key column. One transaction: if any row is refused, nothing changes.
    parameters: [{$ref: "#/components/parameters/name"}]
    security: [{basic: []}, {bearer: []}]
    requestBody:
      content: {application/json: {schema: {type: array, items: {type: object}}}}
    responses:
      204: {description: Changed (and recorded in the audit).}
      400: {$ref: "#/components/responses/refused"}
      401: {$ref: "#/components/responses/refused"}
      403: {$ref: "#/components/responses/refused"}
      404: {$ref: "#/components/responses/refused"}
    """
    service, principal = await _service(request)
    await service.update_rows(principal, request.path_params["name"], await _body(request))
    return Response(status_code=204)


async def post_rows(request: Request) -> Response:
    """Add rows, all or none.
    ---
    summary: Add rows
    description: >-
      Each new row must name the caller (or a PI who delegated the catalog to it) in a PI column, unless the
      caller is an admin. A generated key is ignored when given.
    parameters: [{$ref: "#/components/parameters/name"}]
    security: [{basic: []}, {bearer: []}]
    requestBody:
      content: {application/json: {schema: {type: array, items: {type: object}}}}
    responses:
      200:
        description: "`{key_column: [keys of the new rows]}`"
        content: {application/json: {schema: {type: object}}}
      400: {$ref: "#/components/responses/refused"}
      401: {$ref: "#/components/responses/refused"}
      403: {$ref: "#/components/responses/refused"}
    """
    service, principal = await _service(request)
    return _json(await service.add_rows(principal, request.path_params["name"], await _body(request)))


async def get_delegations(request: Request) -> Response:
    """The catalog delegations of a PI.
    ---
    summary: List delegations
    parameters:
      - {name: pi, in: query, required: false, schema: {type: string},
         description: "PI name or login (default: the caller; another PI: admins only)"}
    security: [{basic: []}, {bearer: []}]
    responses:
      200:
        description: '`{"pi", "login", "delegations": [{"catalogs", "coi": [logins]}]}`'
        content: {application/json: {schema: {type: object}}}
      401: {$ref: "#/components/responses/refused"}
      403: {$ref: "#/components/responses/refused"}
    """
    service, principal = await _service(request)
    pi = request.query_params.get("pi")
    # a2p2's getDelegations() sends ?pi=None when no PI is given
    return _json(await service.delegations(principal, None if pi in (None, "", "None") else pi))


async def put_delegations(request: Request) -> Response:
    """Add or remove catalog delegations.
    ---
    summary: Change delegations
    description: >-
      An array of `{"pi", "catalogs", "coi": [logins], "action": "add" | "remove"}`; `pi` defaults to the caller
      (another PI: admins only). The co-Is may then change the PI's rows of those catalogs.
    security: [{basic: []}, {bearer: []}]
    requestBody:
      content: {application/json: {schema: {type: array, items: {type: object}}}}
    responses:
      204: {description: Done (and recorded in the audit).}
      400: {$ref: "#/components/responses/refused"}
      401: {$ref: "#/components/responses/refused"}
      403: {$ref: "#/components/responses/refused"}
    """
    service, principal = await _service(request)
    await service.update_delegations(principal, await _body(request))
    return Response(status_code=204)


async def get_audit(request: Request) -> Response:
    """The audit of changes, newest first (admins only).
    ---
    summary: Read the audit
    parameters:
      - {name: catalog, in: query, required: false, schema: {type: string}, description: one catalog only}
      - {name: limit, in: query, required: false, schema: {type: integer, default: 100}}
    security: [{basic: []}, {bearer: []}]
    responses:
      200:
        description: "Entries: id, changed_at, user_name, table_name, row_key, action, old_values, new_values."
        content: {application/json: {schema: {type: array, items: {type: object}}}}
      401: {$ref: "#/components/responses/refused"}
      403: {$ref: "#/components/responses/refused"}
    """
    service, principal = await _service(request)
    try:
        limit = int(request.query_params.get("limit", "100"))
    except ValueError:
        raise UsageError("limit must be an integer") from None
    return _json(await service.audit(principal, request.query_params.get("catalog") or None, limit))


async def _service(request: Request) -> tuple[CatalogService, Principal]:
    ctx = context_of(request)
    principal = await ctx.auth.principal_of(request)
    client = request.client.host if request.client is not None else "unknown"
    return CatalogService(CatalogStore(ctx.pools, client), ctx.tap_schema), principal


async def _body(request: Request) -> Any:
    """The JSON body (a JSON string holding JSON is read again, as JMMC's catalogAPI did)."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY_BYTES:
            raise PayloadTooLargeError(f"the body exceeds {MAX_BODY_BYTES} bytes")
    try:
        value = orjson.loads(bytes(data))
        return orjson.loads(value) if isinstance(value, str) else value
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"the body is not valid JSON: {exc}") from None


def _json(value: Any) -> Response:
    return Response(orjson.dumps(value), media_type=_JSON)


def _header_text(message: str) -> str:
    """A header value: one line of printable ASCII (others become '?')."""
    return "".join(c if " " <= c <= "~" else "?" for c in " ".join(message.split()))[:1000]
