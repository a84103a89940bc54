"""The portal's pages: what each shows, for whom, from the request's parameters (endpoints only call these).

Every query a page runs goes through ``search.run_page``: the TAP path, as the caller. Errors a user
can fix (a bad value, an unknown target, invalid ADQL) are shown on the page they came from, with the
query and, for ADQL, its offending line and column marked; the page itself still answers 200.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jmmctap.acl.principal import groups_of
from jmmctap.auth import Principal
from jmmctap.context import ProcessContext
from jmmctap.errors import AdqlError, NotFoundError, UsageError
from jmmctap.health import collect_health
from jmmctap.portal.forms import DEFAULT_RADIUS_ARCMIN, FAMILIES, Family, Position, SearchForm, build_form, form_adql
from jmmctap.portal.render import download_links, render_page, sync_url
from jmmctap.portal.search import PAGE_ROWS, Page, resolve_position, run_page
from jmmctap.tapschema import TapSchema
from jmmctap.vosi.examples import publishable_examples

__all__ = ["adql_page", "jobs_page", "landing_page", "search_page"]

ADQL_PAGE_ROWS = 1000
"""Most rows the ADQL page shows (``MAXREC`` beyond is for downloads and TAP clients)."""


@dataclass(frozen=True)
class _Holding:
    """A line of the landing page's table: a published schema."""

    name: str
    description: str | None
    rows: int | None
    updated: str | None


async def landing_page(ctx: ProcessContext, principal: Principal, base: str) -> str:
    """``/``: what the data centre holds (as the caller may see it), and where to go from there."""
    schema = await _visible(ctx, principal)
    everything = await ctx.tap_schema.fresh()
    hidden = frozenset(everything.names()) - frozenset(schema.names())
    health = await collect_health(ctx.pools, schema, ctx.started_at, hidden)
    latest: dict[str, datetime] = {}
    for ingest in health.ingests:
        owner = ingest.table.split(".")[0]
        if owner not in latest or ingest.finished_at > latest[owner]:
            latest[owner] = ingest.finished_at
    holdings = [
        _Holding(s.name, s.description, _total([n for _, n in s.tables]),
                 f"{latest[s.name]:%Y-%m-%d}" if s.name in latest else None)
        for s in health.schemas if s.name != "tap_schema"
    ]
    return render_page("landing.html", **_common(schema, principal, base), schemas=holdings)


async def search_page(ctx: ProcessContext, principal: Principal, base: str, key: str,
                      values: Mapping[str, str]) -> str:
    """``/search/{key}``: the form of a family (or of any published table), and a page of results once run."""
    schema = await _visible(ctx, principal)
    form = _form_of(schema, key)
    found: dict[str, Any] = {"adql": None, "page": None, "error": None, "position": None}
    if values.get("run"):
        try:
            found.update(await _run_search(ctx, principal, schema, form, values))
        except UsageError as exc:
            found["error"] = exc.message
    return render_page("search.html", **_common(schema, principal, base), **found, **_results_context(
        base, found, values, lambda v: f"/search/{key}?{urllib.parse.urlencode(v)}"), result_name=form.title,
        form=form, values=values, default_radius=DEFAULT_RADIUS_ARCMIN)


async def adql_page(ctx: ProcessContext, principal: Principal, base: str, values: Mapping[str, str]) -> str:
    """``/adql``: an editor with the examples and the tables; runs a query sync (shown) or async (a job)."""
    schema = await _visible(ctx, principal)
    query = values.get("query", "")
    found: dict[str, Any] = {"adql": None, "page": None, "error": None, "error_at": None, "job": None}
    maxrec = _int(values.get("maxrec"), ADQL_PAGE_ROWS, 0, ADQL_PAGE_ROWS)
    if values.get("run") and query.strip():
        try:
            if values.get("mode") == "async":
                found["job"] = (await ctx.jobs.create(
                    {"LANG": ["ADQL"], "QUERY": [query], "PHASE": ["RUN"], "MAXREC": [str(maxrec)]}, {},
                    principal)).job_id
            else:
                found["adql"] = query
                found["page"] = await run_page(ctx, principal, query, maxrec)
        except AdqlError as exc:
            found["error"] = exc.message
            found["error_at"] = (exc.line, exc.column)
        except UsageError as exc:
            found["error"] = exc.message
    examples = publishable_examples(ctx.examples, schema)
    return render_page("adql.html", **_common(schema, principal, base), **found, **_results_context(
        base, found, values, lambda v: f"/adql?{urllib.parse.urlencode(v)}"), result_name="ADQL query",
        query=query, maxrec=maxrec, examples=examples,
        tables=[t for t in schema.tables if t.schema_name != "tap_schema"])


async def jobs_page(ctx: ProcessContext, principal: Principal, base: str) -> str:
    """``/jobs``: the caller's UWS jobs (none for an anonymous caller: anonymous jobs belong to nobody)."""
    schema = await _visible(ctx, principal)
    jobs = await ctx.jobs.list_jobs(principal, [], None, None)
    return render_page("jobs.html", **_common(schema, principal, base), jobs=jobs)


async def _run_search(ctx: ProcessContext, principal: Principal, schema: TapSchema, form: SearchForm,
                      values: Mapping[str, str]) -> dict[str, Any]:
    position: Position | None = None
    target = values.get("target", "").strip()
    if target and form.ra is not None:
        position = await resolve_position(ctx, principal, schema, target)
    radius_arcmin = _float(values.get("radius"), DEFAULT_RADIUS_ARCMIN, "radius")
    if not 0 < radius_arcmin <= 600:
        raise UsageError("the radius must be between 0 and 600 arcmin")
    adql = form_adql(form, values, position, radius_arcmin / 60, order=values.get("order") or None,
                     descending=values.get("desc") == "1", offset=_int(values.get("offset"), 0, 0, 10**9))
    page: Page = await run_page(ctx, principal, adql)
    return {"adql": adql, "page": page, "position": position}


def _results_context(base: str, found: Mapping[str, Any], values: Mapping[str, str],
                     url: Callable[[dict[str, str]], str]) -> dict[str, Any]:
    """Downloads, SAMP, sorting and paging links of a page of results."""
    adql = found.get("adql")
    offset = _int(values.get("offset"), 0, 0, 10**9)

    def sort_url(column: str) -> str:
        descending = values.get("order") == column and values.get("desc") != "1"
        return url({**values, "order": column, "desc": "1" if descending else "", "offset": "0"})

    def page_url(start: int) -> str:
        return url({**values, "offset": str(start)})

    return {
        "downloads": download_links(base, adql) if adql else [],
        "samp_url": sync_url(base, adql, "votable") if adql else "",
        "sort_url": sort_url, "page_url": page_url, "offset": offset, "page_rows": PAGE_ROWS,
    }


def _total(counts: list[int | None]) -> int | None:
    """The rows of a schema: None when no table's count is known (views, such as OiDB's, have none)."""
    known = [n for n in counts if n is not None]
    return sum(known) if known else None


def _common(schema: TapSchema, principal: Principal, base: str) -> dict[str, Any]:
    families = [f for f in FAMILIES if schema.table(f.table) is not None]
    return {"families": families, "user": principal.name, "base": base}


def _form_of(schema: TapSchema, key: str) -> SearchForm:
    family = next((f for f in FAMILIES if f.key == key), None) or Family(key, key, key)
    table = schema.table(family.table)
    if table is None:
        raise NotFoundError(f"no catalogue {key!r} to search")
    return build_form(family.key, family.title if family.title != key else table.description or key, table)


async def _visible(ctx: ProcessContext, principal: Principal) -> TapSchema:
    return (await ctx.tap_schema.fresh()).visible_to(groups_of(principal))


def _float(text: str | None, default: float, what: str) -> float:
    if text is None or not text.strip():
        return default
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"the {what} {text!r} is not a number") from None


def _int(text: str | None, default: int, low: int, high: int) -> int:
    try:
        value = int(text) if text and text.strip() else default
    except ValueError:
        return default
    return min(max(value, low), high)
