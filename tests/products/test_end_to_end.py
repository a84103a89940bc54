"""Issue 16 acceptance on a real ``jmmctap serve``: pyvo follows DataLink from an ObsCore query to the OIFITS file
and its quick look; an embargoed granule's file and links are refused to outsiders (401 anonymous, 403 another
user), served to its data PI and to a co-I delegated with the CLI, and public once the clock passes its release."""

from __future__ import annotations

import gc
import io
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import pyvo
import requests
from astropy.io import fits

from jmmctap.settings import Settings
from tests.conftest import free_port, server_env, spawn_server, stop_server
from tests.products.conftest import AFTER_RELEASE, MATISSE_FILE, did_of, stored_key
from tests.support.accounts import TestAccount
from tests.test_cli import run_cli

# pyvo never closes its streamed responses (see tests/uws/test_pyvo.py): their sockets go to the collector
pytestmark = pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _collect_leaked_responses() -> Iterator[None]:
    """Collect the responses pyvo leaves open while this module's warning filter applies."""
    yield
    gc.collect()


@pytest.fixture(scope="module")
def products_server(products_settings: Settings, products_port: int,
                    people: dict[str, TestAccount]) -> Iterator[str]:
    """``jmmctap serve`` on the products cluster, at the address its files were ingested under; its root URL."""
    assert products_settings.public_url is not None
    env = {**server_env(products_settings), "JMMCTAP_PUBLIC_URL": products_settings.public_url}
    process = spawn_server(env, products_port)
    try:
        yield products_settings.public_url
    finally:
        stop_server(process)


@pytest.fixture(scope="module")
def released_server(products_settings: Settings, people: dict[str, TestAccount]) -> Iterator[str]:
    """The same database served with ``JMMCTAP_CLOCK`` after the embargo's end."""
    port = free_port()
    process = spawn_server({**server_env(products_settings), "JMMCTAP_CLOCK": AFTER_RELEASE}, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(process)


def test_pyvo_follows_datalink_from_obscore_to_the_oifits_file_and_its_preview(products_server: str) -> None:
    with requests.Session() as session:
        service = pyvo.dal.TAPService(f"{products_server}/tap", session=session)
        results = service.run_sync("SELECT * FROM ivoa.obscore WHERE target_name LIKE '%Achernar%'")  # the issue's
        assert len(results) >= 1
        files = []
        rows = {str(row["obs_publisher_did"]): row for row in results}
        followed = [(rows[str(links["ID"][0])], links) for links in results.iter_datalinks()]
        assert sorted(str(row["obs_publisher_did"]) for row, _ in followed) == sorted(rows)
        for row, links in followed:  # (matched by ID: pyvo need not yield them in the rows' order)
            (this,) = list(links.bysemantics("#this", include_narrower=False))
            if row["calib_level"] == 0:  # an exposure of the log (L0): its #this is the ESO archive's query
                assert this.access_url.startswith("http")
                continue
            (preview,) = list(links.bysemantics("#preview", include_narrower=False))
            files.append((str(row["target_name"]), session.get(this.access_url, timeout=30)))
        assert files
        png = session.get(preview.access_url, timeout=60)
    for target, oifits in files:
        assert oifits.status_code == 200
        with fits.open(io.BytesIO(oifits.content)) as hdus:
            assert target in [str(t).strip() for t in hdus["OI_TARGET"].data["TARGET"]]
            assert {"OI_VIS2", "OI_T3", "OI_WAVELENGTH"} <= {h.name for h in hdus}
    assert png.status_code == 200
    assert png.content.startswith(PNG_SIGNATURE)


def _statuses(root: str, conn: psycopg.Connection[Any], auth: Any = None) -> tuple[int, int, int]:
    """HTTP statuses of the embargoed MATISSE product's file, preview and links."""
    key = stored_key(conn, MATISSE_FILE.name)
    with requests.Session() as http:
        http.auth = auth
        return (http.get(f"{root}/products/{key}/{MATISSE_FILE.name}", timeout=30).status_code,
                http.get(f"{root}/previews/{key}.png", timeout=60).status_code,
                http.get(f"{root}/datalink/links", params={"ID": did_of(conn, MATISSE_FILE.name)},
                         timeout=30).status_code)


def test_an_embargoed_granule_is_its_data_pis_and_delegated_co_is_only(
        products_server: str, products_settings: Settings, products_conn: psycopg.Connection[Any],
        people: dict[str, TestAccount]) -> None:
    anonymous = requests.get(f"{products_server}/datalink/links",
                             params={"ID": did_of(products_conn, MATISSE_FILE.name)}, timeout=30)
    assert "Basic" in anonymous.headers["WWW-Authenticate"]
    assert _statuses(products_server, products_conn) == (401, 401, 401)
    assert _statuses(products_server, products_conn, people["bob"].basic) == (403, 403, 403)
    assert _statuses(products_server, products_conn, people["carol"].basic) == (200, 200, 200)
    assert _statuses(products_server, products_conn, people["dave"].basic) == (403, 403, 403)
    env = server_env(products_settings)
    assert run_cli("delegation", "add", "carol", "dave", env=env).returncode == 0
    assert _statuses(products_server, products_conn, people["dave"].basic) == (200, 200, 200)
    assert run_cli("delegation", "remove", "carol", "dave", env=env).returncode == 0
    assert _statuses(products_server, products_conn, people["dave"].basic) == (403, 403, 403)


def test_after_its_release_date_the_granule_is_public(
        released_server: str, products_conn: psycopg.Connection[Any]) -> None:
    assert _statuses(released_server, products_conn) == (200, 200, 200)


def test_stilts_datalinklint_finds_no_error_in_a_links_response(
        products_server: str, products_conn: psycopg.Connection[Any]) -> None:
    stilts = shutil.which("stilts")
    if stilts is None:
        pytest.skip("stilts is not installed (apt-get install stilts)")
    ids = "&".join(f"ID={did_of(products_conn, name)}".replace("?", "%3F") for name in
                   ("Achernar_all_Pionier_oiDataCalib_2012-09-17.fits", "AMBER_V838_Mon_2013-04-15_PRODUCT.fits"))
    done = subprocess.run([stilts, "datalinklint", f"votable={products_server}/datalink/links?{ids}"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert "Totals: Errors: 0; Warnings: 0" in done.stdout, done.stdout + done.stderr
