"""``POST /oidb/submit`` on a real server: OIFITS files become granules with files and DataLink, or nothing.

The module's server keeps its temporary files in a directory of its own (``TMPDIR``) so that a test can see
that a refused submission leaves none, and accepts files up to ``MAX_BYTES`` (the largest shared OIFITS file
is 760 kB). Users are real accounts (``make_account``); granules are read back through TAP as those users.
"""

from __future__ import annotations

import functools
import http.server
import io
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
import pytest
from astropy.io import fits
from astropy.io.votable import parse

from jmmctap.acl import store as acl_store
from jmmctap.db.connect import conninfos
from jmmctap.settings import Settings
from tests.conftest import free_port, server_env, spawn_server, stop_server
from tests.support.accounts import TestAccount
from tests.support.shared import SAMPLES, SHARED, needs_shared

MAX_BYTES = 2_000_000
"""The module server's JMMCTAP_OIFITS_SUBMIT_MAX_BYTES."""

SHIPPED = sorted((SAMPLES / "oifits").glob("*.fits"))
SHARED_OIFITS = SHARED / "data" / "oifits"
SHARED_CORRUPTED = SHARED_OIFITS / "corrupted"


class Server:
    """The module's server: root URL, its temporary directory and its product store."""

    def __init__(self, root: str, tmpdir: Path, products: Path) -> None:
        self.root, self.tmpdir, self.products = root, tmpdir, products


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[Server]:
    tmpdir = Path(tempfile.mkdtemp(prefix="jmmctap-oisubmit-tmp-"))
    port = free_port()
    env = server_env(settings) | {"TMPDIR": str(tmpdir), "JMMCTAP_OIFITS_SUBMIT_MAX_BYTES": str(MAX_BYTES)}
    process = spawn_server(env, port)
    try:
        yield Server(f"http://127.0.0.1:{port}", tmpdir, settings.home / "products")
    finally:
        stop_server(process)
        shutil.rmtree(tmpdir, ignore_errors=True)


@pytest.fixture
def owner(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    """An owner connection; the granules, files and collections the test made are removed after it."""
    with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
        before = {r[0] for r in conn.execute("SELECT name FROM acl.collection")}
        yield conn
        made = [r[0] for r in conn.execute("SELECT name FROM acl.collection")] + ["sub_admin_only"]
        fresh = [name for name in made if name not in before or name.startswith("sub_")]
        conn.execute("DELETE FROM products.granule_file g USING ivoa.obscore o WHERE o.id = g.granule_id"
                     " AND o.obs_collection = ANY (%s)", [fresh])
        conn.execute("DELETE FROM ivoa.obscore WHERE obs_collection = ANY (%s)", [fresh])
        conn.execute("DELETE FROM products.file f WHERE NOT EXISTS"
                     " (SELECT 1 FROM products.granule_file g WHERE g.sha256 = f.sha256)")
        conn.execute("DELETE FROM acl.collection WHERE name = ANY (%s)", [fresh])


def submit(server: Server, account: TestAccount | None, files: list[Path] | None = None,
           **fields: str) -> httpx.Response:
    parts = [("file", (path.name, path.read_bytes(), "application/fits")) for path in files or []]
    return httpx.post(f"{server.root}/oidb/submit", data=fields, files=parts or None, timeout=120,
                      auth=account.basic if account else None,
                      headers={} if parts else {"Content-Type": "application/x-www-form-urlencoded"})


def state(conn: psycopg.Connection[Any], server: Server) -> tuple[Any, ...]:
    """Everything a submission could leave: granules, product rows, stored files, temporary files."""
    counts = conn.execute("SELECT (SELECT count(*) FROM ivoa.obscore), (SELECT count(*) FROM products.file),"
                          " (SELECT count(*) FROM products.granule_file), (SELECT count(*) FROM acl.collection)"
                          ).fetchone()
    stored = sorted(p.name for p in server.products.rglob("*")) if server.products.exists() else []
    return counts, stored, sorted(p.name for p in server.tmpdir.iterdir())


def granules(server: Server, account: TestAccount, collection: str) -> list[dict[str, str]]:
    response = httpx.post(f"{server.root}/tap/sync", auth=account.basic, timeout=60, data={
        "QUERY": f"SELECT obs_publisher_did, access_url, data_rights, datapi FROM ivoa.obscore"
                 f" WHERE obs_collection = '{collection}' ORDER BY id", "FORMAT": "votable"})
    assert response.status_code == 200, response.text
    table = parse(io.BytesIO(response.content)).get_first_table().to_table()
    return [{name: str(row[name]) for name in table.colnames} for row in table]


def assert_stored(server: Server, account: TestAccount, response: httpx.Response, files: list[Path],
                  collection: str) -> None:
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["stored"] is True
    assert [(f["file"], f["status"]) for f in report["files"]] == [(p.name, "accepted") for p in files]
    rows = granules(server, account, collection)
    assert len(rows) == sum(len(f["granules"]) for f in report["files"]) > 0
    assert all(row["access_url"].startswith(f"{server.root}/products/") for row in rows)
    links = httpx.get(f"{server.root}/datalink/links", params={"ID": rows[0]["obs_publisher_did"]},
                      auth=account.basic, timeout=60)
    assert links.status_code == 200, links.text
    table = parse(io.BytesIO(links.content)).get_first_table().to_table()
    this = [row for row in table if str(row["semantics"]) == "#this"]
    assert [str(row["access_url"]) for row in this] == [rows[0]["access_url"]]
    assert httpx.get(rows[0]["access_url"], auth=account.basic, timeout=60).status_code == 200


def assert_resubmission_changes_nothing(server: Server, owner: psycopg.Connection[Any], account: TestAccount,
                                        files: list[Path], collection: str) -> None:
    before = state(owner, server)
    again = submit(server, account, files, collection=collection)
    assert again.status_code == 200, again.text
    assert {f["status"] for f in again.json()["files"]} == {"unchanged"}
    assert state(owner, server) == before


def test_an_anonymous_submission_is_refused_with_401(server: Server) -> None:
    response = submit(server, None, SHIPPED[:1], collection="sub_anonymous")
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers


def test_every_shipped_sample_becomes_granules_with_files_and_datalink_and_resubmitting_is_a_no_op(
        server: Server, owner: psycopg.Connection[Any], make_account: Callable[..., TestAccount]) -> None:
    alice = make_account(groups=["sub_team"])
    acl_store.set_collection(owner, "sub_open_samples", embargo_months=0, groups=["sub_team"])
    response = submit(server, alice, SHIPPED, collection="sub_open_samples")
    assert_stored(server, alice, response, SHIPPED, "sub_open_samples")
    report = response.json()
    assert report["created_collection"] is False and report["datapi"] == alice.name
    assert {f["oifits_version"] for f in report["files"]} <= {1, 2}
    assert_resubmission_changes_nothing(server, owner, alice, SHIPPED, "sub_open_samples")


def test_a_new_collection_name_creates_a_private_collection_of_the_submitter(
        server: Server, owner: psycopg.Connection[Any], make_account: Callable[..., TestAccount]) -> None:
    alice, bob = make_account(), make_account()
    collection = f"sub_{alice.name}_own"
    response = submit(server, alice, SHIPPED[:1], collection=collection)
    assert response.status_code == 201, response.text
    assert response.json()["created_collection"] is True
    rules = [c for c in acl_store.list_collections(owner) if c.name == collection]
    assert [(c.private, c.groups) for c in rules] == [(True, (f"user:{alice.name}",))]
    assert granules(server, bob, collection) == []
    assert submit(server, bob, SHIPPED[:1], collection=collection).status_code == 403


@needs_shared(SHARED_OIFITS)
def test_every_shared_oifits_file_becomes_granules_with_files_and_datalink_and_resubmitting_is_a_no_op(
        server: Server, owner: psycopg.Connection[Any], make_account: Callable[..., TestAccount]) -> None:
    files = sorted(p for p in SHARED_OIFITS.iterdir() if p.suffix in (".fits", ".oifits") and p.is_file())
    alice = make_account(groups=["sub_team"])
    collection = "sub_open_shared"
    acl_store.set_collection(owner, collection, embargo_months=0, groups=["sub_team"])
    assert_stored(server, alice, submit(server, alice, files, collection=collection), files, collection)
    assert_resubmission_changes_nothing(server, owner, alice, files, collection)


def _truncated(directory: Path) -> Path:
    path = directory / "truncated.fits"
    path.write_bytes(SHIPPED[0].read_bytes()[:10_000])
    return path


def _png(directory: Path) -> Path:
    path = directory / "picture.fits"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2000))
    return path


def _no_oi_tables(directory: Path) -> Path:
    path = directory / "plain_table.fits"
    table = fits.BinTableHDU.from_columns([fits.Column(name="X", format="D", array=np.arange(5.0))])
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(path)
    return path


@pytest.mark.parametrize(("make", "reason"), [
    (_truncated, "not a readable FITS file"), (_png, "not a FITS file"), (_no_oi_tables, "OI_TARGET"),
])
def test_a_corrupted_file_is_refused_with_the_reason_and_nothing_of_the_submission_is_stored(
        server: Server, owner: psycopg.Connection[Any], make_account: Callable[..., TestAccount],
        tmp_path: Path, make: Callable[[Path], Path], reason: str) -> None:
    alice = make_account()
    bad = make(tmp_path)
    before = state(owner, server)
    response = submit(server, alice, [SHIPPED[0], bad], collection=f"sub_{alice.name}_bad")
    assert response.status_code == 422, response.text
    report = response.json()
    assert report["stored"] is False
    assert [f["status"] for f in report["files"]] == ["not stored", "refused"]
    assert reason in " ".join(report["files"][1]["errors"])
    assert state(owner, server) == before


@needs_shared(SHARED_CORRUPTED)
def test_the_shared_corrupted_files_are_refused_and_nothing_is_stored(
        server: Server, owner: psycopg.Connection[Any], make_account: Callable[..., TestAccount]) -> None:
    alice = make_account()
    before = state(owner, server)
    for path in sorted(SHARED_CORRUPTED.iterdir()):
        response = submit(server, alice, [path], collection=f"sub_{alice.name}_corrupted")
        assert response.status_code == 422, response.text
        assert response.json()["files"][0]["errors"], path.name
    assert state(owner, server) == before


def test_an_oversized_file_is_refused_with_413_and_nothing_is_stored(
        server: Server, owner: psycopg.Connection[Any], make_account: Callable[..., TestAccount],
        tmp_path: Path) -> None:
    alice = make_account()
    big = tmp_path / "big.fits"
    big.write_bytes(SHIPPED[0].read_bytes() + bytes(MAX_BYTES))
    before = state(owner, server)
    response = submit(server, alice, [big], collection=f"sub_{alice.name}_big")
    assert response.status_code == 413
    assert "big.fits is larger than the limit" in response.text
    assert state(owner, server) == before


def test_a_granule_follows_its_collections_embargo_and_its_file_is_refused_to_another_user(
        server: Server, owner: psycopg.Connection[Any], make_account: Callable[..., TestAccount]) -> None:
    alice, bob = make_account(groups=["sub_team"]), make_account()
    acl_store.set_collection(owner, "sub_embargoed", private=False, embargo_months=12 * 200, groups=["sub_team"])
    response = submit(server, alice, SHIPPED[:1], collection="sub_embargoed")
    assert response.status_code == 201, response.text
    rows = granules(server, bob, "sub_embargoed")  # a public collection: bob sees the rows, not the file
    assert {row["data_rights"] for row in rows} == {"proprietary"}
    assert {row["datapi"] for row in rows} == {alice.name}
    assert httpx.get(rows[0]["access_url"], auth=bob.basic, timeout=60).status_code == 403
    assert httpx.get(rows[0]["access_url"], timeout=60).status_code == 401
    mine = httpx.get(rows[0]["access_url"], auth=alice.basic, timeout=60)  # the submitter is its data PI
    assert mine.status_code == 200 and mine.content.startswith(b"SIMPLE")
    assert submit(server, bob, SHIPPED[:1], collection="sub_embargoed").status_code == 403


def test_a_user_may_not_name_another_data_pi_nor_submit_to_an_operators_collection(
        server: Server, owner: psycopg.Connection[Any], make_account: Callable[..., TestAccount]) -> None:
    alice = make_account()
    named = submit(server, alice, SHIPPED[:1], collection=f"sub_{alice.name}_pi", datapi="Somebody Else")
    assert named.status_code == 403
    assert "may not name" in named.text
    owner.execute("INSERT INTO ivoa.obscore (obs_collection, obs_id, calib_level, target_name, obs_publisher_did,"
                  " nb_channels, nb_vis, nb_vis2, nb_t3)"
                  " VALUES ('sub_admin_only', 'x', 2, 'x', 'ivo://jmmc.fr/oidb?sub_admin_only', 1, 0, 0, 0)")
    assert submit(server, alice, SHIPPED[:1], collection="sub_admin_only").status_code == 403


def test_an_admin_names_the_data_pi(server: Server, owner: psycopg.Connection[Any],
                                    make_account: Callable[..., TestAccount]) -> None:
    root = make_account(groups=["admin"])
    response = submit(server, root, SHIPPED[:1], collection=f"sub_{root.name}_pi", datapi="Carol PI")
    assert response.status_code == 201, response.text
    assert response.json()["datapi"] == "Carol PI"


def test_a_url_on_the_servers_own_network_is_refused(server: Server, make_account: Callable[..., TestAccount]
                                                     ) -> None:
    alice = make_account()
    for url in (f"{server.root}/health", "http://10.1.2.3/x.fits", "file:///etc/passwd"):
        response = submit(server, alice, collection=f"sub_{alice.name}_url", url=url)
        assert response.status_code == 400, (url, response.text)


def test_the_report_is_html_for_a_browser(server: Server, owner: psycopg.Connection[Any],
                                          make_account: Callable[..., TestAccount], tmp_path: Path) -> None:
    alice = make_account()
    response = httpx.post(f"{server.root}/oidb/submit", data={"collection": f"sub_{alice.name}_html"},
                          files=[("file", ("picture.fits", _png(tmp_path).read_bytes()))], auth=alice.basic,
                          headers={"Accept": "text/html"}, timeout=60)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "picture.fits: refused" in response.text and "not a FITS file" in response.text


@pytest.fixture
def file_host() -> Iterator[str]:
    """A plain HTTP server of the shipped samples on 127.0.0.1 (a host a submission may name by url)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SAMPLES / "oifits"))
    host = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=host.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{host.server_address[1]}"
    finally:
        host.shutdown()
        host.server_close()
        thread.join()


def test_a_hosted_file_is_fetched_by_url_when_the_setting_allows_its_address(
        settings: Settings, owner: psycopg.Connection[Any], make_account: Callable[..., TestAccount],
        file_host: str) -> None:
    alice = make_account(groups=["sub_team"])
    acl_store.set_collection(owner, "sub_open_url", embargo_months=0, groups=["sub_team"])
    port = free_port()
    process = spawn_server(server_env(settings) | {"JMMCTAP_OIFITS_SUBMIT_PRIVATE_URLS": "true"}, port)
    try:
        hosted = Server(f"http://127.0.0.1:{port}", Path(tempfile.gettempdir()), settings.home / "products")
        response = submit(hosted, alice, collection="sub_open_url", url=f"{file_host}/{SHIPPED[0].name}")
        assert_stored(hosted, alice, response, SHIPPED[:1], "sub_open_url")
        missing = submit(hosted, alice, collection="sub_open_url", url=f"{file_host}/nothing.fits")
        assert missing.status_code == 400
        assert "HTTP 404" in missing.text
    finally:
        stop_server(process)
