"""Access control fixtures: a private cluster with OIFITS granules in public and private collections.

The rules change ``ivoa.obscore``'s row-level security and TAP_SCHEMA for every caller, so these tests use
their own cluster (the session's is shared with the live server and the catalogue tests). Granules, from
the shipped OIFITS samples (``jmmctap ingest-oifits``'s code path):

- ``pionier_public`` (public): the 18 granules of the PIONIER night, no data PI;
- ``team_private`` (private, group ``teamA``): MATISSE (progid 60.A-9257(E)) and AMBER (progid
  091.D-0030(A)), data PI ``carol``;
- ``solo_private`` (private, no group): the Achernar granule, data PI written ``Erin Smith``.

Callers: ``alice`` (in teamA), ``bob`` (no group), ``carol`` (the data PI), ``dave`` (carol's co-I once
delegated), ``erin`` (``Erin Smith`` once declared), and the anonymous one. Each test starts without any
delegation, data PI name or table grant, and leaves none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette

from jmmctap.acl import store
from jmmctap.app import create_app
from jmmctap.auth import ANONYMOUS, Principal
from jmmctap.catalogues.obscore_store import GranuleOptions
from jmmctap.catalogues.oifits_ingest import ingest_oifits_files
from jmmctap.db.connect import conninfos
from jmmctap.settings import Settings
from tests.conftest import FAST_CLUSTER_OPTIONS, free_port
from tests.support.cluster import private_cluster
from tests.support.shared import SAMPLES

OIFITS = SAMPLES / "oifits"
PIONIER = OIFITS / "2012-03-24_ALL_oiDataCalib.fits"
MATISSE = OIFITS / "MATISSE_2018-12-02T062655_HD45677_A0B2J2C1_IR-LM_LOW_Chop_cal_oifits_0.fits"
AMBER = OIFITS / "AMBER_V838_Mon_2013-04-15_PRODUCT.fits"
ACHERNAR = OIFITS / "Achernar_all_Pionier_oiDataCalib_2012-09-17.fits"

PUBLIC_ROWS = 18
"""Granules of ``pionier_public``: what every caller sees."""
MATISSE_PROGID = "60.A-9257(E)"

ALICE = Principal("alice", frozenset({"teamA"}))
BOB = Principal("bob", frozenset({"teamB"}))
CAROL = Principal("carol")
DAVE = Principal("dave")
ERIN = Principal("erin")
OUTSIDERS = {"anonymous": ANONYMOUS, "bob": BOB}
"""Callers who must never see a private row."""

COUNT = "SELECT obs_collection, COUNT(*) AS n FROM ivoa.obscore GROUP BY obs_collection ORDER BY obs_collection"


@pytest.fixture(scope="session")
def acl_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A private cluster holding the granules of the module docstring, with their collections' rules."""
    with private_cluster("jmmctap-acl-test-", FAST_CLUSTER_OPTIONS, port=free_port()) as settings:
        with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
            ingest_oifits_files(conn, [PIONIER], GranuleOptions("pionier_public"))
            ingest_oifits_files(conn, [MATISSE, AMBER], GranuleOptions("team_private", datapi="carol"))
            ingest_oifits_files(conn, [ACHERNAR], GranuleOptions("solo_private", datapi="Erin Smith"))
            store.set_collection(conn, "team_private", private=True, groups=["teamA"])
            store.set_collection(conn, "solo_private", private=True)
        yield settings


@pytest.fixture
def acl_conn(acl_settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    """An owner connection (autocommit); delegations, data PI names and grants are removed after the test."""
    with psycopg.connect(conninfos(acl_settings).owner, autocommit=True) as conn:
        yield conn
        conn.execute("DELETE FROM acl.delegation")
        conn.execute("DELETE FROM acl.data_pi")
        conn.execute("DELETE FROM acl.table_grant")


@pytest.fixture(scope="session")
async def acl_app(acl_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Starlette]:
    """The application in-process on the private cluster (its lifespan opened: pools, TAP_SCHEMA, job workers)."""
    results: Path = tmp_path_factory.mktemp("acl-results")
    app = create_app(replace(acl_settings, results_dir=results))
    async with LifespanManager(app):
        yield app


@pytest.fixture
async def acl_client(acl_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP to the in-process app: an anonymous caller."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=acl_app), base_url="http://testserver") as http:
        yield http
