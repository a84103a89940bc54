"""Ingest keeps each OIFITS file and fills access_url, access_format and access_estsize (kB) of its granules;
hosted collections keep their remote URLs; a change of public URL is one ``relink``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from jmmctap.catalogues.obscore_store import OIFITS_MIME_TYPE, GranuleOptions
from jmmctap.catalogues.oifits_ingest import ingest_oifits_files
from jmmctap.products.catalog import ProductPublisher, public_root, relink_products
from jmmctap.products.store import hash_file
from jmmctap.settings import Settings
from tests.conftest import server_env
from tests.products.conftest import ACHERNAR_FILE, MATISSE_FILE
from tests.test_cli import run_cli

ACCESS = ("SELECT access_url, access_format, access_estsize FROM ivoa.obscore WHERE obs_collection = %s"
          " ORDER BY id")


@pytest.fixture
def scratch(products_conn: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    """The products cluster; granules of the ``scratch*`` collections are removed after the test."""
    yield products_conn
    products_conn.execute("DELETE FROM ivoa.obscore WHERE obs_collection LIKE 'scratch%'")


def test_ingest_keeps_the_file_and_fills_the_access_columns(
        scratch: psycopg.Connection[Any], products_settings: Settings, tmp_path: Path) -> None:
    publisher = ProductPublisher.from_settings(replace(products_settings, products_dir=tmp_path))
    ingest_oifits_files(scratch, [MATISSE_FILE], GranuleOptions("scratch"), products=publisher)
    stored = hash_file(MATISSE_FILE)
    url = f"{products_settings.public_url}/products/{stored.sha256}/{MATISSE_FILE.name}"
    assert scratch.execute(ACCESS, ["scratch"]).fetchall() == [(url, OIFITS_MIME_TYPE, stored.size_bytes // 1000)]
    kept = publisher.store.local_path(stored.sha256)
    assert kept is not None and kept.read_bytes() == MATISSE_FILE.read_bytes()


def test_ingesting_again_changes_nothing(scratch: psycopg.Connection[Any], products_settings: Settings) -> None:
    publisher = ProductPublisher.from_settings(products_settings)
    query = ("SELECT o.id, o.access_url, g.sha256, g.file_name FROM ivoa.obscore o JOIN products.granule_file g"
             " ON g.granule_id = o.id WHERE o.obs_collection = 'scratch' ORDER BY o.id")
    ingest_oifits_files(scratch, [ACHERNAR_FILE], GranuleOptions("scratch"), products=publisher)
    first = scratch.execute(query).fetchall()
    ingest_oifits_files(scratch, [ACHERNAR_FILE], GranuleOptions("scratch"), products=publisher)
    assert scratch.execute(query).fetchall() == first and len(first) == 1


def test_a_hosted_collection_keeps_its_remote_files(
        scratch: psycopg.Connection[Any], products_settings: Settings) -> None:
    options = GranuleOptions("scratch_remote", access_url_base="https://example.org/oifits/")
    report = ingest_oifits_files(scratch, [MATISSE_FILE], options,
                                 products=ProductPublisher.from_settings(products_settings))
    assert [row[0] for row in scratch.execute(ACCESS, ["scratch_remote"])] == [
        f"https://example.org/oifits/{MATISSE_FILE.name}"]
    kept = scratch.execute("SELECT count(*) FROM products.granule_file WHERE granule_id = ANY(%s)",
                           [list(report.granule_ids)]).fetchone()
    assert kept == (0,)


def test_relink_points_the_kept_files_at_a_new_public_url(
        scratch: psycopg.Connection[Any], products_settings: Settings) -> None:
    publisher = ProductPublisher.from_settings(products_settings)
    ingest_oifits_files(scratch, [ACHERNAR_FILE], GranuleOptions("scratch"), products=publisher)
    try:
        assert relink_products(scratch, "https://oidb.example.org/") >= 1
        (url,) = scratch.execute("SELECT access_url FROM ivoa.obscore WHERE obs_collection = 'scratch'").fetchone() \
            or (None,)
        assert str(url).startswith("https://oidb.example.org/products/")
    finally:
        relink_products(scratch, public_root(products_settings))


def test_ingest_oifits_on_the_command_line_serves_the_file(
        scratch: psycopg.Connection[Any], products_settings: Settings) -> None:
    env = {**server_env(products_settings), "JMMCTAP_PUBLIC_URL": "https://tap.example.org/"}
    done = run_cli("ingest-oifits", str(ACHERNAR_FILE), "--collection", "scratch_cli", env=env)
    assert done.returncode == 0, done.stderr
    ((url, media_type, size),) = scratch.execute(ACCESS, ["scratch_cli"]).fetchall()
    assert url == f"https://tap.example.org/products/{hash_file(ACHERNAR_FILE).sha256}/{ACHERNAR_FILE.name}"
    assert (media_type, size) == (OIFITS_MIME_TYPE, ACHERNAR_FILE.stat().st_size // 1000)


def test_the_public_root_defaults_to_the_served_address() -> None:
    assert public_root(Settings(port=8123)) == "http://127.0.0.1:8123"
    assert public_root(Settings(public_url="https://tap.jmmc.fr/")) == "https://tap.jmmc.fr"
