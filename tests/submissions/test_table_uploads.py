"""``PUT``/``DELETE /tables/SCHEMA.TABLE`` on a real server: streaming, atomicity, who may write and who may see.

Users are real accounts (``make_account``); queries go through TAP as those users. The 100,000-row upload
prints the server's memory before and after (resident and peak) for the record; only its growth is bounded,
never a time.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from jmmctap.settings import Settings
from tests.conftest import server_env
from tests.submissions.conftest import LiveServer
from tests.support.accounts import TestAccount
from tests.test_cli import run_cli

ROWS = 100_000

_HEAD = b"""<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
<RESOURCE><TABLE name="stars"><DESCRIPTION>Stars uploaded over HTTP</DESCRIPTION>
<FIELD name="id" datatype="long" ucd="meta.id;meta.main"/>
<FIELD name="ra" datatype="double" unit="deg" ucd="pos.eq.ra;meta.main"/>
<FIELD name="dec" datatype="double" unit="deg" ucd="pos.eq.dec;meta.main"/>
<FIELD name="mag" datatype="float" unit="mag" ucd="phot.mag;em.opt.V"/>
<FIELD name="name" datatype="char" arraysize="*" ucd="meta.id"/>
<FIELD name="note" datatype="char" arraysize="*"/>
<DATA><TABLEDATA>
"""
_TAIL = b"</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>\n"


def _row(i: int) -> bytes:
    return (f"<TR><TD>{i}</TD><TD>{(i * 0.0036) % 360:.6f}</TD><TD>{(i % 1800) / 10 - 90:.1f}</TD>"
            f"<TD>{5 + (i % 100) / 10:.1f}</TD><TD>star {i}</TD><TD>uploaded row {i:06d} of a hundred thousand</TD>"
            "</TR>\n").encode()


def write_votable(path: Path, rows: int, bad_row: int | None = None, truncate: bool = False) -> Path:
    """A TABLEDATA VOTable of ``rows`` stars; ``bad_row`` gets a text id, ``truncate`` cuts the document."""
    with path.open("wb") as out:
        out.write(_HEAD)
        for i in range(1, rows + 1):
            out.write(_row(i).replace(b"<TD>%d</TD>" % i, b"<TD>oops</TD>", 1) if i == bad_row else _row(i))
        if not truncate:
            out.write(_TAIL)
    return path


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 16):
            yield chunk


def put_file(root: str, table: str, path: Path, account: TestAccount | None, **params: str) -> httpx.Response:
    """Stream ``path`` as the body (the client never holds the file either)."""
    return httpx.put(f"{root}/tables/{table}", params=params, content=_chunks(path), timeout=300,
                     headers={"Content-Length": str(path.stat().st_size)}, auth=account.basic if account else None)


def tap(root: str, account: TestAccount | None, adql: str) -> httpx.Response:
    return httpx.post(f"{root}/tap/sync", data={"QUERY": adql, "FORMAT": "csv"}, timeout=60,
                      auth=account.basic if account else None)


def count(root: str, account: TestAccount | None, table: str) -> int:
    response = tap(root, account, f"SELECT COUNT(*) AS n FROM {table}")
    assert response.status_code == 200, response.text
    return int(response.text.splitlines()[1])


def error_text(response: httpx.Response) -> str:
    info = etree.fromstring(response.content).find(".//{*}INFO[@name='QUERY_STATUS']")
    assert info is not None and info.get("value") == "ERROR"
    return info.text or ""


@pytest.fixture
def alice(make_account: Callable[..., TestAccount]) -> TestAccount:
    return make_account("alice")


def test_a_100000_row_votable_streams_into_the_owners_schema_with_flat_server_memory(
        submission_server: LiveServer, alice: TestAccount, user_tables: list[str], tmp_path: Path) -> None:
    user_tables += ["user_alice.warmup", "user_alice.t"]
    root = submission_server.root
    # the loader's fixed buffers (4 MiB TABLEDATA chunks and their COPY text) are allocated before measuring
    warmup = put_file(root, "user_alice.warmup", write_votable(tmp_path / "warmup.vot", ROWS // 2), alice)
    assert warmup.status_code == 201, warmup.text
    big = write_votable(tmp_path / "big.vot", ROWS)
    size_kib = big.stat().st_size // 1024
    submission_server.reset_peak()
    rss_before, _ = submission_server.memory_kib()

    response = put_file(root, "user_alice.t", big, alice)

    rss_after, peak = submission_server.memory_kib()
    print(f"\nPUT /tables/user_alice.t: {ROWS} rows, {size_kib} KiB; server RSS {rss_before} -> {rss_after} KiB"
          f" ({rss_after - rss_before:+d}), peak during the upload {peak} KiB ({peak - rss_before:+d})")
    assert response.status_code == 201, response.text
    assert response.json() | {"seconds": 0} == {
        "table": "user_alice.t", "mode": "create", "created": True, "rows": ROWS, "total_rows": ROWS,
        "columns": 6, "indexed": ["ra", "dec"], "seconds": 0}
    assert response.headers["Location"].endswith("/tap/tables/user_alice.t")
    assert rss_after - rss_before < size_kib // 4  # streamed: the file never stays in the server's memory
    assert count(root, alice, "user_alice.t") == ROWS  # queryable at once
    row = tap(root, alice, "SELECT name, note FROM user_alice.t WHERE id = 54321").text.splitlines()[1]
    assert row == "star 54321,uploaded row 054321 of a hundred thousand"


@pytest.mark.parametrize(("bad", "says"), [
    ({"bad_row": 60_000}, "the uploaded file, row 60000, column 'id'"),
    ({"truncate": True}, "the uploaded file"),
], ids=["bad-cell-after-60000-rows", "truncated-document"])
def test_a_bad_file_leaves_the_previous_table_and_its_metadata_intact(
        submission_server: LiveServer, alice: TestAccount, user_tables: list[str], tmp_path: Path,
        bad: dict[str, Any], says: str) -> None:
    user_tables.append("user_alice.kept")
    root = submission_server.root
    assert put_file(root, "user_alice.kept", write_votable(tmp_path / "good.vot", 1000), alice).status_code == 201
    columns = tap(root, alice, "SELECT column_name, datatype FROM TAP_SCHEMA.columns"
                               " WHERE table_name = 'user_alice.kept' ORDER BY column_name").text

    response = put_file(root, "user_alice.kept", write_votable(tmp_path / "bad.vot", ROWS, **bad), alice,
                        mode="replace")

    assert response.status_code == 400
    assert says in error_text(response)
    assert "/tmp" not in error_text(response)  # the server's spool file is nobody's business
    assert count(root, alice, "user_alice.kept") == 1000
    assert tap(root, alice, "SELECT column_name, datatype FROM TAP_SCHEMA.columns"
                            " WHERE table_name = 'user_alice.kept' ORDER BY column_name").text == columns


def test_a_bad_first_upload_creates_nothing(
        submission_server: LiveServer, alice: TestAccount, user_tables: list[str], tmp_path: Path) -> None:
    user_tables.append("user_alice.never")
    response = put_file(submission_server.root, "user_alice.never", write_votable(tmp_path / "bad.vot", 10, bad_row=5),
                        alice)
    assert response.status_code == 400
    assert "unknown table" in error_text(tap(submission_server.root, alice, "SELECT * FROM user_alice.never"))
    assert put_file(submission_server.root, "user_alice.never", write_votable(tmp_path / "ok.vot", 10),
                    alice).status_code == 201


def test_another_user_cannot_write_or_drop_the_owners_schema_nor_see_its_tables(
        submission_server: LiveServer, alice: TestAccount, make_account: Callable[..., TestAccount],
        user_tables: list[str], tmp_path: Path) -> None:
    user_tables += ["user_alice.mine", "user_alice.theirs"]
    root = submission_server.root
    bob = make_account("bob")
    small = write_votable(tmp_path / "small.vot", 10)
    assert put_file(root, "user_alice.mine", small, alice).status_code == 201

    refused = put_file(root, "user_alice.theirs", small, bob)
    assert refused.status_code == 403
    assert "bob may not write schema user_alice" in error_text(refused)
    assert put_file(root, "user_alice.mine", small, bob, mode="replace").status_code == 403
    assert httpx.delete(f"{root}/tables/user_alice.mine", auth=bob.basic).status_code == 403
    anonymous = put_file(root, "user_alice.theirs", small, None)
    assert anonymous.status_code == 401
    assert "Basic" in anonymous.headers["WWW-Authenticate"]

    for outsider in (bob, None):  # private to its owner until granted: unknown to anyone else
        assert "unknown table" in error_text(tap(root, outsider, "SELECT * FROM user_alice.mine"))
        for listing in ("/tap/tables", "/health"):
            assert "user_alice" not in httpx.get(root + listing, auth=outsider.basic if outsider else None).text
    assert count(root, alice, "user_alice.mine") == 10


def test_a_grant_shares_an_uploaded_table_and_a_delete_unpublishes_it(
        submission_server: LiveServer, settings: Settings, alice: TestAccount,
        make_account: Callable[..., TestAccount], user_tables: list[str], tmp_path: Path) -> None:
    user_tables.append("user_alice.shared")
    root = submission_server.root
    carol = make_account("carol", groups=["upload-readers"])
    assert put_file(root, "user_alice.shared", write_votable(tmp_path / "s.vot", 10), alice).status_code == 201

    granted = run_cli("grant", "user_alice.shared", "--group", "upload-readers", env=server_env(settings))
    assert granted.returncode == 0, granted.stderr
    assert count(root, carol, "user_alice.shared") == 10
    assert count(root, alice, "user_alice.shared") == 10  # the owner keeps its own right

    assert httpx.delete(f"{root}/tables/user_alice.shared", auth=alice.basic).status_code == 204
    for reader in (alice, carol):
        assert "unknown table" in error_text(tap(root, reader, "SELECT * FROM user_alice.shared"))
    assert httpx.delete(f"{root}/tables/user_alice.shared", auth=alice.basic).status_code == 404
    assert "user_alice" not in httpx.get(f"{root}/health", auth=alice.basic).text  # nor its schema, nor its log


def test_a_writer_grant_opens_a_shared_schema_to_a_group_whose_tables_follow_the_usual_rules(
        submission_server: LiveServer, settings: Settings, make_account: Callable[..., TestAccount],
        user_tables: list[str], tmp_path: Path) -> None:
    user_tables.append("team_uploads.stars")
    root = submission_server.root
    dave, erin = make_account("dave", groups=["uploaders"]), make_account("erin")
    small = write_votable(tmp_path / "small.vot", 10)
    assert put_file(root, "team_uploads.stars", small, dave).status_code == 403

    added = run_cli("writer", "add", "team_uploads", "uploaders", env=server_env(settings))
    assert added.returncode == 0, added.stderr

    assert put_file(root, "team_uploads.stars", small, dave).status_code == 201
    assert count(root, None, "team_uploads.stars") == 10  # public, as `jmmctap ingest` would publish it
    assert put_file(root, "team_uploads.stars", small, erin, mode="append").status_code == 403
    assert put_file(root, "team_uploads.stars", small, dave, mode="append").json()["total_rows"] == 20
    assert "team_uploads: uploaders" in run_cli("writer", "list", env=server_env(settings)).stdout
    assert run_cli("writer", "remove", "team_uploads", "uploaders", env=server_env(settings)).returncode == 0
    assert httpx.delete(f"{root}/tables/team_uploads.stars", auth=dave.basic).status_code == 403


def test_a_form_upload_takes_its_mode_and_description_from_the_fields(
        submission_server: LiveServer, alice: TestAccount, user_tables: list[str], tmp_path: Path) -> None:
    user_tables.append("user_alice.form")
    root = submission_server.root
    data = write_votable(tmp_path / "form.vot", 10).read_bytes()
    created = httpx.put(f"{root}/tables/user_alice.form", auth=alice.basic,
                        files={"file": ("stars.vot", io.BytesIO(data))}, data={"description": "From a form"})
    assert created.status_code == 201, created.text
    appended = httpx.put(f"{root}/tables/user_alice.form", auth=alice.basic,
                         files={"file": ("stars.vot", io.BytesIO(data))}, data={"mode": "append"})
    assert appended.status_code == 200 and appended.json()["total_rows"] == 20
    described = tap(root, alice, "SELECT description FROM TAP_SCHEMA.tables WHERE table_name = 'user_alice.form'")
    assert described.text.splitlines()[1] == "From a form"
    refused = httpx.put(f"{root}/tables/user_alice.form", auth=alice.basic, data={"mode": "replace"},
                        files={"file": ("broken.vot", io.BytesIO(data[:-200]))})
    assert refused.status_code == 400 and "broken.vot" in error_text(refused)


@pytest.mark.parametrize(("table", "params", "status", "says"), [
    ("user_alice.dup", {}, 409, "already exists"),
    ("user_alice.missing", {"mode": "append"}, 404, "does not exist"),
    ("user_alice.dup", {"mode": "merge"}, 400, "mode must be one of create, replace, append"),
    ("badcal.valid_stars", {"mode": "replace"}, 403, "catalogue loader"),
    ("tap_schema.schemas", {}, 400, "reserved"),
    ("not-a-name", {}, 400, "SCHEMA.TABLE"),
])
def test_refused_uploads_say_why_with_their_http_status(
        submission_server: LiveServer, alice: TestAccount, user_tables: list[str], tmp_path: Path,
        table: str, params: dict[str, str], status: int, says: str) -> None:
    user_tables.append("user_alice.dup")
    small = write_votable(tmp_path / "small.vot", 3)
    assert put_file(submission_server.root, "user_alice.dup", small, alice).status_code == 201
    response = put_file(submission_server.root, table, small, alice, **params)
    assert response.status_code == status
    assert says in error_text(response)
