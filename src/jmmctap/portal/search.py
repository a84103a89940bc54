"""Run the portal's queries through the TAP path, and find where a target is.

A form's ADQL goes through ``tapquery.open_query`` as a sync query would: same translation, limits,
gate, statement timeout and row-level security for the caller. A page of rows is read into memory
(``PAGE_ROWS`` at most: it becomes one HTML table).

Names are resolved against the catalogues' own names — JSDC, ObsCore ``target_name``, ObsPortal
targets — as the caller may see them, spaces and underscores matching each other (``alf Eri`` finds
``alf_Eri``); typed coordinates are read in degrees or sexagesimal (astropy).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jmmctap.auth import Principal
from jmmctap.context import ProcessContext
from jmmctap.dali import TapRequest
from jmmctap.errors import UsageError
from jmmctap.portal.forms import Position, adql_name, adql_string, build_form
from jmmctap.results import ResultColumn
from jmmctap.tapquery import open_query
from jmmctap.tapschema import TapSchema

__all__ = ["PAGE_ROWS", "Page", "parse_coordinates", "resolve_position", "run_page"]

PAGE_ROWS = 50
"""Rows on one page of results."""

NAME_TABLES = ("jsdc.jsdc_v2", "ivoa.obscore", "obsportal.targets", "obsportal.exposures")
"""Where names are looked up, in this order (the first table that knows the name gives the position)."""

_NUMBERS = re.compile(r"\s*([+-]?\d+(?:\.\d*)?)\s*[, ]\s*([+-]?\d+(?:\.\d*)?)\s*\Z")


@dataclass(frozen=True)
class Page:
    """One page of a query's result: the columns, the rows, and whether more rows exist."""

    columns: tuple[ResultColumn, ...]
    rows: tuple[tuple[Any, ...], ...]
    more: bool


async def run_page(ctx: ProcessContext, principal: Principal, adql: str, rows: int = PAGE_ROWS, *,
                   client: str = "portal") -> Page:
    """The first ``rows`` rows of ``adql`` run for ``principal`` (errors as for TAP: ``UsageError``…)."""
    request = TapRequest(query=adql, maxrec=rows, response_format="votable")
    async with open_query(ctx.pools, ctx.tap_schema, ctx.settings, request, principal=principal,
                          timeout_s=ctx.settings.query_timeout_s, files={}, label="GET /search",
                          client=client, values=True) as prepared:
        stream = prepared.log.watch(prepared.stream)
        found = [tuple(row) async for batch in stream.batches() for row in batch]
        prepared.log.finish("ok")
        return Page(tuple(stream.columns), tuple(found), stream.overflowed)


def parse_coordinates(text: str) -> Position | None:
    """Typed coordinates: ``ra dec`` in degrees, or sexagesimal (RA in hours); None when not coordinates."""
    match = _NUMBERS.match(text)
    if match:
        ra, dec = float(match.group(1)), float(match.group(2))
    elif re.search(r"\d[:hH ]\s*\d", text) and re.search(r"[+-]?\d+[:dD° ]\s*\d", text):
        from astropy import units  # imported here: astropy.coordinates costs every server 0.4 s and memory
        from astropy.coordinates import SkyCoord

        try:
            coord = SkyCoord(text, unit=(units.hourangle, units.deg), frame="icrs")
        except ValueError:
            return None
        ra, dec = float(coord.ra.deg), float(coord.dec.deg)
    else:
        return None
    if not (0 <= ra < 360 and -90 <= dec <= 90):
        raise UsageError(f"coordinates out of range: RA {ra} (0 to 360), Dec {dec} (-90 to 90)")
    return Position(ra, dec, "coordinates")


async def resolve_position(ctx: ProcessContext, principal: Principal, schema: TapSchema, text: str,
                           *, client: str = "portal") -> Position:
    """Where ``text`` points: typed coordinates, or a name known to the catalogues (``UsageError`` if not)."""
    typed = parse_coordinates(text)
    if typed is not None:
        return typed
    pattern = re.sub(r"[%\\]", "", text.strip())
    if not pattern:
        raise UsageError("give a target name or coordinates")
    like = adql_string(re.sub(r"[\s_]+", "_", pattern))  # _ matches one character: a space or an underscore
    for name in NAME_TABLES:
        table = schema.table(name)
        if table is None:
            continue
        form = build_form(name, name, table)
        column = next((f.columns[0] for f in form.fields if f.key == "name"), None)
        if column is None or form.ra is None or form.dec is None:
            continue
        adql = (f"SELECT TOP 1 {adql_name(form.ra)}, {adql_name(form.dec)}, {adql_name(column)} FROM {table.name}"
                f" WHERE {adql_name(column)} ILIKE {like} AND {adql_name(form.ra)} IS NOT NULL")
        page = await run_page(ctx, principal, adql, 1, client=client)
        if page.rows:
            ra, dec, found = page.rows[0]
            return Position(float(ra), float(dec), f"{found} in {table.name}")
    raise UsageError(f"unknown target {text!r}: no star or target of that name in {', '.join(_known(schema))};"
                     " give its coordinates instead (degrees, or hh:mm:ss ±dd:mm:ss)")


def _known(schema: TapSchema) -> Sequence[str]:
    return [n for n in NAME_TABLES if schema.table(n) is not None] or ["the catalogues"]
