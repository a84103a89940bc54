"""Product fixtures: a private cluster with the shipped samples, their files kept, and granules whose files
are open, under embargo or private.

The samples are loaded as ``make run`` does (``load_samples``: the OIFITS files go to the product store
under ``JMMCTAP_PUBLIC_URL``, here the address of the module's server), then:

- Achernar (``samples_pionier``): released in 2013, open to everyone;
- the MATISSE product of HD 45677 (``samples_eso``): under embargo until ``RELEASE``, data PI ``carol``;
  its L0 exposure (``eso_vlti_import``) is its progenitor;
- the AMBER product of V838 Mon: moved to ``team_private`` (private, group ``teamA``).

Users: ``alice`` (teamA), ``bob`` (teamB), ``carol`` (the data PI), ``dave`` (carol's co-I once delegated).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette

from jmmctap.accounts.store import remove_user
from jmmctap.acl import store as acl_store
from jmmctap.app import create_app
from jmmctap.catalogues.samples import load_samples
from jmmctap.db.connect import conninfos
from jmmctap.settings import Settings
from tests.conftest import FAST_CLUSTER_OPTIONS, free_port
from tests.support.accounts import TestAccount, create_account
from tests.support.cluster import private_cluster
from tests.support.shared import SAMPLES

ACHERNAR_FILE = SAMPLES / "oifits" / "Achernar_all_Pionier_oiDataCalib_2012-09-17.fits"
MATISSE_FILE = SAMPLES / "oifits" / "MATISSE_2018-12-02T062655_HD45677_A0B2J2C1_IR-LM_LOW_Chop_cal_oifits_0.fits"
AMBER_FILE = SAMPLES / "oifits" / "AMBER_V838_Mon_2013-04-15_PRODUCT.fits"

RELEASE = datetime(2031, 6, 1, tzinfo=UTC)
"""End of the MATISSE product's embargo."""
AFTER_RELEASE = "2031-06-02T00:00:00Z"
"""A ``JMMCTAP_CLOCK`` past it."""


@pytest.fixture(scope="session")
def products_port() -> int:
    """Port of the module's real server, known before the samples are ingested (their access_url)."""
    return free_port()


@pytest.fixture(scope="session")
def products_settings(products_port: int) -> Iterator[Settings]:
    """The private cluster of the module docstring."""
    with private_cluster("jmmctap-products-test-", FAST_CLUSTER_OPTIONS, port=products_port,
                         testdata=False) as cluster_settings:
        settings = replace(cluster_settings, public_url=f"http://127.0.0.1:{products_port}")
        with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
            load_samples(conn, settings)
            conn.execute("UPDATE ivoa.obscore SET obs_release_date = %s, datapi = 'carol'"
                         " WHERE calib_level > 0 AND instrument_name LIKE 'MATISSE%%'", [RELEASE])
            conn.execute("UPDATE ivoa.obscore SET obs_collection = 'team_private'"
                         " WHERE calib_level > 0 AND instrument_name LIKE 'AMBER%%'")
            acl_store.set_collection(conn, "team_private", private=True, groups=["teamA"])
        yield settings


@pytest.fixture(scope="session")
def people(products_settings: Settings) -> Iterator[dict[str, TestAccount]]:
    """Real accounts (password and token), removed at the end."""
    with psycopg.connect(conninfos(products_settings).owner, autocommit=True) as conn:
        accounts = {"alice": create_account(conn, "alice", groups=["teamA"]),
                    "bob": create_account(conn, "bob", groups=["teamB"]),
                    "carol": create_account(conn, "carol"), "dave": create_account(conn, "dave")}
        yield accounts
        for name in accounts:
            remove_user(conn, name)


@pytest.fixture
def products_conn(products_settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    """An owner connection (autocommit); delegations and documentation links are removed after the test."""
    with psycopg.connect(conninfos(products_settings).owner, autocommit=True) as conn:
        yield conn
        conn.execute("DELETE FROM acl.delegation")
        conn.execute("DELETE FROM products.collection_documentation")


@contextlib.asynccontextmanager
async def _app(settings: Settings, results: Path) -> AsyncIterator[Starlette]:
    app = create_app(replace(settings, results_dir=results, async_workers=0))
    async with LifespanManager(app):
        yield app


@pytest.fixture(scope="session")
async def products_app(products_settings: Settings, people: dict[str, TestAccount],
                       tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Starlette]:
    """The application in-process on the products cluster, clock not set (the database's now)."""
    async with _app(products_settings, tmp_path_factory.mktemp("products-results")) as app:
        yield app


@pytest.fixture(scope="session")
async def released_app(products_settings: Settings, people: dict[str, TestAccount],
                       tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Starlette]:
    """The same application with ``JMMCTAP_CLOCK`` after the MATISSE product's release."""
    async with _app(replace(products_settings, clock=AFTER_RELEASE),
                    tmp_path_factory.mktemp("released-results")) as app:
        yield app


@pytest.fixture
async def products_client(products_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP to the in-process app (anonymous unless a request carries credentials)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=products_app),
                                 base_url="http://testserver") as http:
        yield http


def stored_key(conn: psycopg.Connection[Any], file_name: str) -> str:
    """SHA-256 of a stored sample file, from its granules."""
    row = conn.execute("SELECT DISTINCT sha256 FROM products.granule_file WHERE file_name = %s", [file_name]).fetchone()
    assert row is not None, file_name
    return str(row[0])


def did_of(conn: psycopg.Connection[Any], file_name: str) -> str:
    """obs_publisher_did of the (first) granule of a stored sample file."""
    row = conn.execute("SELECT o.obs_publisher_did FROM ivoa.obscore o JOIN products.granule_file g"
                       " ON g.granule_id = o.id WHERE g.file_name = %s ORDER BY o.id LIMIT 1", [file_name]).fetchone()
    assert row is not None, file_name
    return str(row[0])
