"""The real VOTables every test of "all published types in all formats" ingests, and how they are named.

The developers' shared folder (``../shared/data/votable``) has about forty VOTables from other
services and libraries; without it, the few shipped in ``tests/data/votable`` (origin and licence in
its README) stand in. Files ``jmmctap ingest`` refuses on purpose are listed with the reason.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from jmmctap.ingest import ingest_files
from tests.conftest import SHARED

__all__ = [
    "NO_FIELD",
    "NO_TABLE",
    "REJECTED",
    "SHARED_VOTABLES",
    "SHIPPED_VOTABLES",
    "ingest_votables",
    "ingestible_votables",
    "table_name",
    "wait_until_served",
]

SHARED_VOTABLES = SHARED / "data" / "votable"
"""The shared folder's VOTables (absent outside the developers' machines)."""

SHIPPED_VOTABLES = Path(__file__).resolve().parents[1] / "data" / "votable"
"""The repository's own copies of the ones that matter most (every datatype, ObsCore of other services)."""

REJECTED = {
    "odd/custom_datatype.xml": "unknown VOTable datatype 'bar'",
    "odd/too_many_columns.xml.gz": "row 1: 45 TD cells where 41 FIELDs",
    "odd/timesys_errors.xml": "TIMESYS",
    # astropy only warns (W51) and wraps the value; a value that does not fit its type is an error here
    "odd/regression.xml": "row 2, column 'short': value \"65536\" is out of range for type smallint",
}
"""Shared files refused as malformed (all those astropy refuses, plus regression.xml), with what the message says."""

NO_TABLE = frozenset({"odd/irsa-nph-error.xml", "odd/no_resource.xml", "odd/resource_groups.xml"})
"""Valid VOTables without any TABLE: nothing to load, refused with a clear message."""

NO_FIELD = frozenset({"odd/no_field_not_empty_table.xml", "odd/test.order.xml"})
"""VOTables whose first TABLE has no FIELD (one even has rows of no cells): no column to publish."""

SCHEMA = "votables"
"""The schema the session fixture ingests into."""

_NOT_NAME = re.compile(r"[^a-z0-9]+")


def ingestible_votables() -> list[Path]:
    """Every VOTable of the shared folder that ``jmmctap ingest`` accepts, or the shipped copies without it."""
    if not SHARED_VOTABLES.is_dir():
        return sorted(SHIPPED_VOTABLES.glob("*.xml"))
    refused = REJECTED.keys() | NO_TABLE | NO_FIELD
    return sorted(p for p in SHARED_VOTABLES.rglob("*")
                  if p.is_file() and p.suffix != ".txt" and p.relative_to(SHARED_VOTABLES).as_posix() not in refused)


def table_name(path: Path) -> str:
    """``votables.<file name as an ADQL regular identifier>``, unique across the folder's subdirectories."""
    base = SHARED_VOTABLES if path.is_relative_to(SHARED_VOTABLES) else SHIPPED_VOTABLES
    slug = _NOT_NAME.sub("_", path.relative_to(base).as_posix().lower()).strip("_")
    return f"{SCHEMA}.t_{slug[:58]}"


def ingest_votables(conn: psycopg.Connection[Any], paths: list[Path], query_role: str) -> dict[Path, str]:
    """Ingest each file into its own table (``replace``: a second call changes nothing visible)."""
    tables = {}
    for path in paths:
        tables[path] = table_name(path)
        ingest_files(conn, [path], tables[path], mode="replace", query_role=query_role)
    return tables


SERVED_TIMEOUT_S = 60.0
"""How long a running server may take to reload TAP_SCHEMA after the ingests (it LISTENs for changes)."""


def wait_until_served(tap_url: str, tables: list[str]) -> None:
    """Return once the server at ``tap_url`` answers a query on each table (its TAP_SCHEMA reload is done)."""
    deadline = time.monotonic() + SERVED_TIMEOUT_S
    pending = list(tables)
    while pending:
        response = httpx.post(f"{tap_url}/sync", data={"LANG": "ADQL", "QUERY": f"SELECT TOP 0 * FROM {pending[0]}"},
                              timeout=30)
        if response.status_code == 200:
            pending.pop(0)
        elif time.monotonic() > deadline:
            raise AssertionError(f"{tap_url} does not serve {pending[0]} after {SERVED_TIMEOUT_S} s: {response.text}")
        else:
            time.sleep(0.2)
