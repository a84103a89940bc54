"""Fixtures of the ADQL engine tests: the conformance tables and a small fixture table, published.

``adql_conf`` holds the conformance corpus tables (loaded with ``jmmctap.ingest``, under a
schema of our own so the ingest tests can drop ``conf`` freely); ``adqltest.points`` is a generated table
whose rows the tests also keep in Python (``POINTS``) to compute expected answers independently;
``adqltest.sightings`` (``TARGETS``), positions a few arcseconds from some of them and with no positional
index, is the other side of crossmatches (an observation list or an upload).
"""

from __future__ import annotations

import datetime
import math
import random
from collections.abc import Iterator
from typing import Any, NamedTuple

import psycopg
import pytest
from psycopg import sql

from jmmctap.db.connect import conninfos
from jmmctap.ingest import ingest_files
from jmmctap.settings import Settings
from jmmctap.tapschema import Column, Schema, Table, TapSchema, load_tap_schema
from jmmctap.tapschema.publish import publish_schema, publish_table
from tests.support.shared import SHARED

CONFORMANCE_SCHEMA = "adql_conf"
"""Where the conformance tables conf.stars / conf.obs are loaded for these tests."""
CONFORMANCE_DATA = SHARED / "conformance" / "data"
"""The conformance corpus tables (in ../shared only)."""


class Point(NamedTuple):
    id: int
    name: str | None
    ra: float
    dec: float
    mag: float | None
    flags: int
    seen: datetime.datetime | None


def _make_points() -> list[Point]:
    rng = random.Random(20251121)
    names = ["alpha", "Beta", "gamma's", 'the "delta"', "ε Eri", "zeta%", "eta_1", None]
    points = []
    for i in range(1, 201):
        ra = 0.0 if i == 1 else 359.999 if i == 2 else rng.uniform(0, 360)
        dec = 90.0 if i == 3 else math.degrees(math.asin(rng.uniform(-1, 1)))
        if 10 <= i < 30:  # a cluster near (10, 20) for cone searches
            ra, dec = 10 + rng.uniform(-1, 1), 20 + rng.uniform(-1, 1)
        mag = None if i % 17 == 0 else round(rng.uniform(-1, 15), 2)
        seen = None if i % 13 == 0 else datetime.datetime(2020, 1, 1) + datetime.timedelta(hours=37 * i)
        points.append(Point(i, names[i % len(names)], ra, dec, mag, i % 7, seen))
    return points


POINTS: list[Point] = _make_points()


class Target(NamedTuple):
    tid: int
    ra: float
    dec: float


def _make_targets() -> list[Target]:
    """Every fifth point seen again 0–8 arcsec away (some within 5 arcsec, some not), and a few lone targets."""
    rng = random.Random(20261204)
    targets: list[Target] = []
    for point in POINTS[::5]:
        offset = rng.uniform(0, 8) / 3600
        angle = rng.uniform(0, 2 * math.pi)
        dec = max(-90.0, min(90.0, point.dec + offset * math.sin(angle)))
        ra = (point.ra + offset * math.cos(angle) / max(math.cos(math.radians(dec)), 1e-6)) % 360
        targets.append(Target(len(targets) + 1, ra, dec))
    targets += [Target(len(targets) + 1 + i, rng.uniform(0, 360), rng.uniform(-60, 60)) for i in range(5)]
    return targets


TARGETS: list[Target] = _make_targets()
"""The rows of adqltest.points (mag is stored as REAL: compare with a tolerance)."""

_POINT_COLUMNS = (
    Column("adqltest.points", "id", "int", ucd="meta.id;meta.main", description="identifier"),
    Column("adqltest.points", "name", "char", arraysize="*", ucd="meta.id", description="a name"),
    Column("adqltest.points", "ra", "double", unit="deg", ucd="pos.eq.ra;meta.main", description="RA"),
    Column("adqltest.points", "dec", "double", unit="deg", ucd="pos.eq.dec;meta.main", description="Dec"),
    Column("adqltest.points", "mag", "float", unit="mag", ucd="phot.mag", description="magnitude"),
    Column("adqltest.points", "flags", "int", description="id mod 7"),
    Column("adqltest.points", "seen", "char", arraysize="*", xtype="timestamp", description="when"),
    Column("adqltest.points", "pos", "double", arraysize="2", xtype="point", unit="deg", description="(ra, dec)"),
    Column("adqltest.points", '"Size"', "double", unit="arcsec", description="a delimited name"),
)


def _create_points(conn: psycopg.Connection[Any], query_role: str) -> None:
    conn.execute("DROP SCHEMA IF EXISTS adqltest CASCADE")
    conn.execute("DELETE FROM tap_schema.tables WHERE schema_name = 'adqltest'")
    publish_schema(conn, Schema("adqltest", "ADQL engine test fixture"), query_role)
    conn.execute('CREATE TABLE adqltest.points (id integer PRIMARY KEY, name text, ra double precision,'
                 ' dec double precision, mag real, flags integer, seen timestamp, pos spoint, "Size" double precision)')
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO adqltest.points VALUES (%s, %s, %s, %s, %s, %s, %s,"
            " spoint(radians(%s), radians(%s)), %s)",
            [(p.id, p.name, p.ra, p.dec, p.mag, p.flags, p.seen, p.ra, p.dec, p.id / 10) for p in POINTS],
        )
    conn.execute('CREATE INDEX points_pos ON adqltest.points USING gist (spoint(radians("ra"), radians("dec")))')
    conn.execute("ANALYZE adqltest.points")
    publish_table(conn, Table("adqltest", "adqltest.points", description="points", columns=_POINT_COLUMNS),
                  query_role)
    conn.execute("CREATE TABLE adqltest.sightings (tid integer PRIMARY KEY, ra double precision, dec double precision)")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO adqltest.sightings VALUES (%s, %s, %s)", TARGETS)
    conn.execute("ANALYZE adqltest.sightings")
    publish_table(conn, Table("adqltest", "adqltest.sightings", description="sightings, no positional index", columns=(
        Column("adqltest.sightings", "tid", "int", ucd="meta.id;meta.main"),
        Column("adqltest.sightings", "ra", "double", unit="deg", ucd="pos.eq.ra;meta.main"),
        Column("adqltest.sightings", "dec", "double", unit="deg", ucd="pos.eq.dec;meta.main"),
    )), query_role)


def _load_conformance(conn: psycopg.Connection[Any], query_role: str) -> None:
    if conn.execute("SELECT 1 FROM tap_schema.tables WHERE table_name = %s",
                    [f"{CONFORMANCE_SCHEMA}.obs"]).fetchone():
        return
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(CONFORMANCE_SCHEMA)))
    conn.execute("DELETE FROM tap_schema.tables WHERE schema_name = %s", [CONFORMANCE_SCHEMA])
    for name in ("stars", "obs"):
        path = CONFORMANCE_DATA / f"{name}.vot"
        if path.exists():  # without ../shared the tests over these tables skip (needs_shared(CONFORMANCE_DATA))
            ingest_files(conn, [path], f"{CONFORMANCE_SCHEMA}.{name}", query_role=query_role)


@pytest.fixture(scope="session")
def adql_tap_schema(settings: Settings) -> TapSchema:
    """TAP_SCHEMA once the ADQL fixture tables are published."""
    with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
        _create_points(conn, settings.query_role)
        _load_conformance(conn, settings.query_role)
        return load_tap_schema(conn)


@pytest.fixture
def query_conn(query_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection as the SELECT-only query role, the way user queries run."""
    with psycopg.connect(query_dsn) as conn:
        yield conn
