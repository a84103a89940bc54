"""Catalog API fixtures: a private cluster with a SPICA-like catalog, real accounts, a live ``jmmctap serve``.

The catalog is ``spica.spica`` (``tests.support.spica``: the shipped SPICA-DB targets, ``spicadb_id`` 1..42,
``piname`` in turn ``Carol PI``, ``Dan PI``, ``Erin PI``), exposed with key ``spicadb_id`` and PI columns
``piname``, ``piname2``. Its own cluster: the tests change rows and delegations, and the audit is append-only.

People: ``carol`` (the data PI written ``Carol PI``), ``dave`` (her co-I once she delegates), ``bob`` (nobody's
co-I) and ``root`` (group ``admin``). Each test starts without any delegation.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from astropy.utils.exceptions import AstropyDeprecationWarning

from jmmctap.accounts.store import remove_user
from jmmctap.acl.store import add_data_pi
from jmmctap.catalogs.declarations import expose_catalog
from jmmctap.db.connect import conninfos
from jmmctap.ingest import ingest_files
from jmmctap.settings import Settings
from tests.conftest import FAST_CLUSTER_OPTIONS, free_port, server_env, spawn_server, stop_server
from tests.support.accounts import TestAccount, create_account
from tests.support.cluster import private_cluster
from tests.support.spica import write_spica

with warnings.catch_warnings():  # a2p2 imports astropy.samp (deprecated) and distutils for its GUI
    warnings.simplefilter("ignore", AstropyDeprecationWarning)
    warnings.simplefilter("ignore", DeprecationWarning)
    from a2p2.jmmc import Catalog

__all__ = ["Catalog"]

SPICA = "spica.spica"


@pytest.fixture(scope="session")
def catalog_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A private cluster holding the SPICA-like catalog, exposed."""
    votable = write_spica(tmp_path_factory.mktemp("spica") / "spica.vot")
    with private_cluster("jmmctap-catalogs-test-", FAST_CLUSTER_OPTIONS, port=free_port(), testdata=False) as settings:
        with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
            ingest_files(conn, [votable], SPICA, mode="create", description="SPICA survey targets (test sample)",
                         query_role=settings.query_role, force=True)  # spica is a loader's schema
            expose_catalog(conn, SPICA, "spicadb_id", ["piname", "piname2"])
        yield settings


@pytest.fixture
def catalog_conn(catalog_settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    """An owner connection (autocommit); delegations and table grants are removed after the test."""
    with psycopg.connect(conninfos(catalog_settings).owner, autocommit=True) as conn:
        yield conn
        conn.execute("DELETE FROM acl.delegation")
        conn.execute("DELETE FROM acl.table_grant")


@pytest.fixture(scope="session")
def people(catalog_settings: Settings) -> Iterator[dict[str, TestAccount]]:
    """carol (data PI ``Carol PI``), dave, bob and root (group admin), with passwords."""
    with psycopg.connect(conninfos(catalog_settings).owner, autocommit=True) as conn:
        accounts = {"carol": create_account(conn, "carol"), "dave": create_account(conn, "dave"),
                    "bob": create_account(conn, "bob"), "root": create_account(conn, "root", groups=["admin"])}
        add_data_pi(conn, "carol", "Carol PI")
        yield accounts
        for name in accounts:
            remove_user(conn, name)


@pytest.fixture(scope="session")
def catalog_server(catalog_settings: Settings, people: dict[str, TestAccount], tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[str]:
    """``jmmctap serve`` on the catalog cluster; yields its root URL (``/catalogs``, ``/tap`` below it)."""
    port = free_port()
    process = spawn_server(server_env(catalog_settings), port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(process)


@pytest.fixture(autouse=True)
def _a2p2_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """a2p2 reads credentials from the user's preferences and ~/.netrc when none are given: never the tester's."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def audit_mark(conn: psycopg.Connection[Any]) -> int:
    """The last audit id so far: the entries a test made are those after it."""
    row = conn.execute("SELECT coalesce(max(id), 0) FROM catalog_api.audit").fetchone()
    return int(row[0]) if row else 0


def audit_since(conn: psycopg.Connection[Any], mark: int) -> list[tuple[Any, ...]]:
    """(user, action, row key, old values, new values) of the audit entries after ``mark``, oldest first."""
    return conn.execute("SELECT user_name, action, row_key, old_values, new_values FROM catalog_api.audit"
                        " WHERE id > %s ORDER BY id", [mark]).fetchall()
