"""HTML of the portal: Jinja2 templates (``portal/templates``) filled from frozen models.

Autoescaping is on for every template: values from the database or the user reach the page only
escaped. The static files (``portal/static``: the page script, the style sheet and the vendored
SAMP library) are served by the application from the same package, so nothing is fetched from
elsewhere at run time.
"""

from __future__ import annotations

import functools
import math
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from jmmctap import formats
from jmmctap.results import ResultColumn

__all__ = ["STATIC_DIR", "download_links", "render_page", "sync_url"]

STATIC_DIR = Path(__file__).with_name("static")
"""The portal's script, style sheet and vendored SAMP library."""

_FORMAT_LABELS = {"votable": "VOTable", "votable/td": "VOTable (TABLEDATA)", "csv": "CSV", "tsv": "TSV",
                  "json": "JSON", "fits": "FITS", "html": "HTML"}
"""The result formats offered for download, by TAP short name (all of them are TAP formats)."""


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["cell"] = format_cell
    env.globals.update(header_title=header_title, links_of=links_of, preview_of=preview_of,
                       datalink_of=datalink_of)
    return env


def render_page(template: str, **values: Any) -> str:
    """The page ``template`` filled with ``values``."""
    return _environment().get_template(template).render(**values)


def sync_url(base: str, adql: str, response_format: str, maxrec: int | None = None) -> str:
    """The ``/tap/sync`` URL of ``adql`` in ``response_format`` (a download, or what SAMP sends)."""
    params = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": adql, "FORMAT": response_format}
    if maxrec is not None:
        params["MAXREC"] = str(maxrec)
    return f"{base}/tap/sync?{urllib.parse.urlencode(params)}"


def download_links(base: str, adql: str) -> list[tuple[str, str]]:
    """(label, URL) of the result in every TAP format the service writes."""
    known = {alias for f in formats.all_formats() for alias in f.aliases}
    return [(label, sync_url(base, adql, name)) for name, label in _FORMAT_LABELS.items() if name in known]


def format_cell(value: Any, column: ResultColumn | None = None) -> str:
    """A cell as text: floats shortened to what a reader needs, arrays joined, NULL empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:.8g}"
    if isinstance(value, (list, tuple)):
        return " ".join(format_cell(v) for v in value)
    return str(value)


def header_title(column: ResultColumn) -> str:
    """The tooltip of a column header: description, unit and UCD."""
    parts = [column.description or "", f"unit: {column.unit}" if column.unit else "",
             f"UCD: {column.ucd}" if column.ucd else ""]
    return " — ".join(p for p in parts if p)


_PRODUCT = re.compile(r"/products/([0-9a-f]{64})/[^/]+\Z")
"""The path of a stored product file (``products/store.py``): its quick-look plot is ``/previews/{sha256}.png``."""


def preview_of(columns: Sequence[ResultColumn], row: Sequence[Any]) -> str | None:
    """The quick-look plot of an ObsCore row whose file this service keeps, else None."""
    for column, value in zip(columns, row, strict=False):
        if column.name == "access_url" and isinstance(value, str) and (found := _PRODUCT.search(value)):
            return f"/previews/{found.group(1)}.png"
    return None


def datalink_of(columns: Sequence[ResultColumn], row: Sequence[Any]) -> str | None:
    """The DataLink ``{links}`` URL of an ObsCore row (by its publisher DID), else None."""
    for column, value in zip(columns, row, strict=False):
        if column.name == "obs_publisher_did" and isinstance(value, str) and value:
            return "/datalink/links?" + urllib.parse.urlencode({"ID": value})
    return None


def links_of(columns: Sequence[ResultColumn], row: Sequence[Any]) -> Mapping[str, str]:
    """Links a result row offers, by column name: URLs (``meta.ref.url``) as they are."""
    found: dict[str, str] = {}
    for column, value in zip(columns, row, strict=False):
        if isinstance(value, str) and (column.ucd or "").startswith("meta.ref.url") and value.startswith("http"):
            found[column.name] = value
    return found
