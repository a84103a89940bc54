"""``jmmctap catalog expose|unexpose|list|audit``: the spellings operators type, end to end."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import psycopg
import pytest

from jmmctap.catalogs.declarations import CatalogDeclaration, expose_catalog, list_catalogs
from jmmctap.errors import UsageError
from jmmctap.settings import Settings
from tests.catalogs.conftest import SPICA
from tests.conftest import clean_env

EXPOSED = CatalogDeclaration(SPICA, "spicadb_id", ("piname", "piname2"))


def _jmmctap(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "jmmctap.cli", *args], capture_output=True, text=True,
                            env=clean_env(JMMCTAP_HOME=str(settings.home)), timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_catalog_commands_expose_list_audit_and_unexpose(catalog_settings: Settings,
                                                         catalog_conn: psycopg.Connection[Any]) -> None:
    exposed = _jmmctap(catalog_settings, "catalog", "expose", "SPICA.spica", "--key", "spicadb_id",
                       "--pi-column", "piname", "--pi-column", "piname2")
    assert exposed.stdout.strip() == "spica.spica: a catalog, key spicadb_id, PI column(s) piname, piname2"
    assert _jmmctap(catalog_settings, "catalog", "list").stdout.strip() == \
        "spica.spica: key spicadb_id, PI column(s) piname, piname2"
    assert _jmmctap(catalog_settings, "catalog", "audit", "spica.spica", "--limit", "1").returncode == 0
    try:
        assert "no longer a catalog" in _jmmctap(catalog_settings, "catalog", "unexpose", "spica.spica").stdout
        assert list_catalogs(catalog_conn) == []
        again = _jmmctap(catalog_settings, "catalog", "unexpose", "spica.spica")
        assert again.returncode == 1 and "is not a catalog" in again.stderr
    finally:
        expose_catalog(catalog_conn, SPICA, "spicadb_id", ["piname", "piname2"])
    assert list_catalogs(catalog_conn) == [EXPOSED]


def test_the_key_is_made_unique_by_an_index(catalog_conn: psycopg.Connection[Any]) -> None:
    row = catalog_conn.execute("SELECT count(*) FROM pg_index WHERE indrelid = 'spica.spica'::regclass"
                               " AND indisunique").fetchone()
    assert row is not None and row[0] == 1
    expose_catalog(catalog_conn, SPICA, "spicadb_id", ["piname", "piname2"])  # again: no second index
    assert catalog_conn.execute("SELECT count(*) FROM pg_index WHERE indrelid = 'spica.spica'::regclass"
                                " AND indisunique").fetchone() == row


@pytest.mark.parametrize(("key", "pi_columns", "why"), [
    ("piname", ["piname"], "duplicate values"),  # each PI has several targets
    ("no_such_key", ["piname"], "no column 'no_such_key'"),
    ("spicadb_id", ["pi_name"], "no column 'pi_name'"),
    ("spicadb_id", [], "at least one --pi-column"),
])
def test_a_key_that_is_not_unique_or_an_unknown_column_is_refused(
        catalog_conn: psycopg.Connection[Any], key: str, pi_columns: list[str], why: str) -> None:
    with pytest.raises(UsageError, match=why):
        expose_catalog(catalog_conn, SPICA, key, pi_columns)
    assert list_catalogs(catalog_conn) == [EXPOSED]


def test_an_unpublished_table_cannot_be_a_catalog(catalog_conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(UsageError, match="not a published table"):
        expose_catalog(catalog_conn, "spica.nothing", "id", ["piname"])
