"""``GET /tap/capabilities``, ``/tap/tables[/{table_name}]`` (VOSI 1.1) and ``/tap/examples`` (DALI 1.1).

The tables are read from the process context's ``LiveTapSchema``, checked current at each request
(``tapschema/live.py``), so a table ingested or dropped a moment ago is listed, or not, at once.
"""

from __future__ import annotations

from email.utils import format_datetime

from starlette.requests import Request
from starlette.responses import Response

from jmmctap.accounts.credentials import CHALLENGES
from jmmctap.acl.principal import groups_of
from jmmctap.context import context_of
from jmmctap.endpoints.coding import document_response
from jmmctap.endpoints.urls import service_root
from jmmctap.errors import NotFoundError
from jmmctap.tapschema import Table, TapSchema, split_qualified
from jmmctap.vosi import publishable_examples, write_capabilities, write_examples, write_table, write_tableset

__all__ = ["capabilities", "examples", "table", "tables", "tap_base_url"]

XML_MEDIA_TYPE = "text/xml"
"""Media type of the VOSI documents (what VOSI 1.1 §3 and the clients expect)."""
XHTML_MEDIA_TYPE = "application/xhtml+xml"
"""Media type of the DALI examples document (DALI 1.1 §2.3 allows XHTML or HTML)."""


def tap_base_url(request: Request) -> str:
    """The TAP base URL: ``public_url`` + ``/tap`` when configured, else this server's own (``service_root``)."""
    return service_root(request, context_of(request).settings) + "/tap"


async def capabilities(request: Request) -> Response:
    """VOSI capabilities: TAP (TAPRegExt), VOSI and DALI examples, each interface with its security methods."""
    ctx = context_of(request)
    body = write_capabilities(ctx.capabilities, tap_base_url(request))
    # VOSI 1.1 §3.1: SHOULD set Last-Modified; the description changes only with a restart
    headers = {"Last-Modified": format_datetime(ctx.started_at, usegmt=True)}
    if ctx.capabilities.security_methods:
        # IVOA AuthVO: 200 with challenges = optional authentication (how TOPCAT learns it may log in)
        headers["WWW-Authenticate"] = CHALLENGES
    return document_response(request, body, XML_MEDIA_TYPE, headers=headers)


async def _visible_schema(request: Request, fresh: bool = True) -> TapSchema:
    """TAP_SCHEMA as the caller may see it (no table granted only to groups it is not in); ``fresh``: current
    after an ingest or a grant, else the copy in hand."""
    ctx = context_of(request)
    principal = await ctx.auth.principal_of(request)
    schema = await ctx.tap_schema.fresh() if fresh else ctx.tap_schema.schema
    return schema.visible_to(groups_of(principal))


async def tables(request: Request) -> Response:
    """VOSI tableset; ``detail=min`` (name and value case-insensitive) leaves columns and keys out."""
    detail = {k.lower(): v.lower() for k, v in request.query_params.items()}.get("detail", "max")
    body = write_tableset(await _visible_schema(request), detail=detail != "min")
    return document_response(request, body, XML_MEDIA_TYPE)


async def table(request: Request) -> Response:
    """One ``vosi:table`` in full detail; 404 when no table the caller may see has that name."""
    tap_schema = await _visible_schema(request)
    found = _find_table(tap_schema, request.path_params["table_name"])
    return document_response(request, write_table(tap_schema, found), XML_MEDIA_TYPE)


async def examples(request: Request) -> Response:
    """DALI examples whose tables are all published right now (and visible to the caller)."""
    shown = publishable_examples(context_of(request).examples, await _visible_schema(request, fresh=False))
    return document_response(request, write_examples(shown), XHTML_MEDIA_TYPE)


def _find_table(tap_schema: TapSchema, name: str) -> Table:
    exact = tap_schema.table(name)
    if exact is not None:
        return exact
    matches = tap_schema.find_tables(split_qualified(name))  # as an ADQL name would resolve
    if len(matches) != 1:
        raise NotFoundError(f"no published table named {name!r}")
    return matches[0]
