"""Fixtures of the catalogue tests: the shared data files and a clean obsportal / obscore state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.support.shared import SAMPLES, SHARED, shared_files

ESO_DIR = SAMPLES / "eso"
"""Every file of shared/data/eso, shipped byte for byte as the ESO samples."""
OIFITS_DIR = SHARED / "data" / "oifits"
OIMODELER_DIR = OIFITS_DIR / "oimodeler"
"""47 real VLTI products with full ESO primary headers (PIONIER, MATISSE, AMBER)."""
GRAVITY_HEADER = ESO_DIR / "GRAVITY_2016-06-23_IRAS17216-3801_primary.hdr"


def eso_files() -> list[Path]:
    return sorted(p for p in ESO_DIR.iterdir() if p.is_file())


def oifits_files() -> list[Path]:
    """The shared OIFITS files (none without ../shared: their tests carry ``needs_shared(OIFITS_DIR)``)."""
    return [p for p in shared_files(OIFITS_DIR) if p.suffix in (".fits", ".oifits")]


def oimodeler_files() -> list[Path]:
    """The real products of shared/data/oifits/oimodeler (none without ../shared)."""
    return shared_files(OIMODELER_DIR, "*.fits")


@pytest.fixture
def clean_catalogues(owner_conn: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    """The owner connection on empty obsportal (plans too), jsdc and ivoa.obscore tables (emptied again after)."""
    _truncate(owner_conn)
    yield owner_conn
    _truncate(owner_conn)


def _truncate(conn: psycopg.Connection[Any]) -> None:
    tables = ["obsportal.baselines", "obsportal.exposures", "obsportal.targets", "obsportal.observations",
              "obsportal.programs", "obsportal.instrument_setups", "obsportal.planned_observations", "jsdc.jsdc_v2"]
    if conn.execute("SELECT to_regclass('ivoa.obscore') IS NOT NULL").fetchone()[0]:  # type: ignore[index]
        tables.append("ivoa.obscore")
    names = sql.SQL(", ").join(sql.Identifier(*t.split(".")) for t in tables)
    conn.execute(sql.SQL("TRUNCATE {} CASCADE").format(names))
