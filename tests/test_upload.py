"""TAP UPLOAD: references, limits, refused addresses, and the temporary table on the real query connection."""

from __future__ import annotations

import base64
import gzip
import http.server
import io
import logging
import struct
import threading
import zlib
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
import pytest
from asgi_lifespan import LifespanManager
from astropy.io.votable import from_table, writeto
from astropy.table import Table as AstropyTable
from psycopg_pool import AsyncConnectionPool

from jmmctap.adql import translate
from jmmctap.app import create_app
from jmmctap.auth import ANONYMOUS, Principal
from jmmctap.db.gate import GateLimits, QueryGate
from jmmctap.errors import UsageError
from jmmctap.query import start
from jmmctap.results import ResultColumn
from jmmctap.settings import Settings
from jmmctap.tapschema import load_tap_schema
from jmmctap.upload import INDEX_MIN_ROWS, UPLOAD_LIMITS, UploadRef, open_uploads, parse_upload_refs
from tests.support.pools import open_query_pool


def _votable(rows: int = 3) -> bytes:
    table = AstropyTable({"id": list(range(1, rows + 1)), "RAJ2000": [10.0 + i for i in range(rows)],
                          "DEJ2000": [-5.0 - i for i in range(rows)], "B-V": [0.5] * rows})
    table["RAJ2000"].unit = "deg"
    table["DEJ2000"].unit = "deg"
    out = io.BytesIO()
    writeto(from_table(table), out)
    return out.getvalue()


@pytest.fixture
async def query_pool(query_dsn: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    """One query-role connection, so that a later query sees what the previous one left behind."""
    async with open_query_pool(query_dsn, 1) as pool:
        yield pool


@pytest.fixture
def local_http() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving a VOTable (an address uploads must never reach)."""
    body = _votable()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/t.xml"
    finally:
        server.shutdown()
        server.server_close()


def test_upload_values_are_parsed() -> None:
    assert parse_upload_refs(["t,param:t", "u,https://example.org/u.xml;v,param:x"]) == [
        UploadRef("t", "param:t"), UploadRef("u", "https://example.org/u.xml"), UploadRef("v", "param:x")]
    assert parse_upload_refs([]) == []


@pytest.mark.parametrize(("value", "message"), [
    ("t", "name,URI"), ("1t,param:t", "regular ADQL identifier"), ("select,param:t", "regular ADQL identifier"),
    ("a-b,param:t", "regular ADQL identifier"), ("t,ftp://host/x", "only param:"), ("t,file:///etc/passwd", "only"),
    ("t,vos://x", "only"),
])
def test_bad_upload_values_are_refused(value: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_upload_refs([value])


def test_an_upload_name_given_twice_is_refused() -> None:
    with pytest.raises(UsageError, match="twice"):
        parse_upload_refs(["t,param:a", "T,param:b"])


async def test_each_upload_is_logged_with_who_uploaded_it(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="jmmctap.upload")
    async with open_uploads(["t,param:f"], {"f": io.BytesIO(_votable())}, settings, principal=Principal("alice")):
        pass
    assert [r.getMessage() for r in caplog.records] == ["upload TAP_UPLOAD.t from param:f for alice"]


async def test_uploaded_table_metadata_comes_from_the_votable(settings: Settings) -> None:
    async with open_uploads(["t,param:f"], {"f": io.BytesIO(_votable())}, settings, principal=ANONYMOUS) as uploads:
        (table,) = uploads.tables
    assert (table.name, table.schema_name, table.db_schema, table.db_table) == (
        "TAP_UPLOAD.t", "TAP_UPLOAD", "pg_temp", "t")
    columns = {c.name: c for c in table.columns}
    assert list(columns) == ["id", "RAJ2000", "DEJ2000", '"B-V"']
    assert (columns["RAJ2000"].datatype, columns["RAJ2000"].unit) == ("double", "deg")
    assert columns["RAJ2000"].indexed and columns["DEJ2000"].indexed and not columns["id"].indexed


async def test_arraysize_one_is_a_scalar(settings: Settings) -> None:
    votable = (b'<VOTABLE version="1.3" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>'
               b'<FIELD name="c" datatype="char" arraysize="1"/><FIELD name="x" datatype="double" arraysize="1"/>'
               b'<DATA><TABLEDATA><TR><TD>a</TD><TD>1.5</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>')
    async with open_uploads(["t,param:f"], {"f": io.BytesIO(votable)}, settings, principal=ANONYMOUS) as uploads:
        assert [(c.name, c.arraysize) for c in uploads.tables[0].columns] == [("c", None), ("x", None)]


async def test_upload_becomes_an_analysed_temporary_table_of_that_query_only(
    settings: Settings, query_pool: AsyncConnectionPool[Any]
) -> None:
    sql = ("SELECT (SELECT count(*) FROM pg_temp.t),"
           " (SELECT count(*) FROM pg_indexes WHERE tablename = 't' AND indexdef LIKE '%gist%spoint%'),"
           " (SELECT reltuples FROM pg_class WHERE oid = 'pg_temp.t'::regclass)")
    async with open_uploads(["t,param:f"], {"f": io.BytesIO(_votable(500))}, settings, principal=ANONYMOUS) as uploads:
        stream = await start(_gate(query_pool), sql, [ResultColumn("n", "long")] * 3, adql="q", maxrec=10,
                             timeout_s=10, setup=uploads.setup)
    rows = [row async for batch in stream.batches() for row in batch]
    assert rows == [(500, 0, 500.0)]  # rows loaded, ANALYZEd; too few rows for a positional index
    after = await start(_gate(query_pool), "SELECT to_regclass('pg_temp.t') IS NULL", [ResultColumn("gone", "boolean")],
                        adql="q", maxrec=10, timeout_s=10)
    assert [row async for batch in after.batches() for row in batch] == [(True,)]


async def test_a_large_upload_is_indexed_on_its_positions(settings: Settings,
                                                          query_pool: AsyncConnectionPool[Any]) -> None:
    sql = "SELECT count(*) FROM pg_indexes WHERE tablename = 't' AND indexdef LIKE '%gist%spoint%'"
    content = _votable(INDEX_MIN_ROWS + 1)
    async with open_uploads(["t,param:f"], {"f": io.BytesIO(content)}, settings, principal=ANONYMOUS) as uploads:
        stream = await start(_gate(query_pool), sql, [ResultColumn("n", "long")], adql="q", maxrec=10,
                             timeout_s=60, setup=uploads.setup)
    assert [row async for batch in stream.batches() for row in batch] == [(1,)]


async def test_a_crossmatch_of_a_small_upload_probes_the_catalogue_index(
    settings: Settings, owner_conn: psycopg.Connection[Any], query_dsn: str
) -> None:
    """With no index of its own, the upload is the outer side and the JSDC's positional index is probed."""
    adql = ("SELECT u.id, j.Name FROM TAP_UPLOAD.t AS u JOIN jsdc.jsdc_v2 AS j"
            " ON 1 = CONTAINS(POINT(j.RAJ2000, j.DEJ2000), CIRCLE(u.RAJ2000, u.DEJ2000, 5. / 3600.))")
    async with open_uploads(["t,param:f"], {"f": io.BytesIO(_votable(1000))}, settings, principal=ANONYMOUS) as uploads:
        translation = translate(adql, load_tap_schema(owner_conn), extra_tables=uploads.tables)
        assert uploads.setup is not None
        async with await psycopg.AsyncConnection.connect(query_dsn) as conn:
            await conn.execute("SET TRANSACTION READ WRITE")  # as query.start: temporary tables only
            await uploads.setup(conn)
            await conn.commit()
            await conn.execute("SET enable_seqscan = off")  # the fixture JSDC is small: prove the index can serve
            plan = "\n".join(str(row[0]) for row in await (await conn.execute("EXPLAIN " + translation.sql)).fetchall())
    assert "Index Cond" in plan and "catalog_position" in plan, plan


def _tricky_votable(serialization: str) -> bytes:
    names = ["plain", "tab\there", "back\\slash", "new\nline", "ünïcødé ✓", "", "quote \" ' <&>"]
    table = AstropyTable({"n": np.ma.masked_array(list(range(len(names))), mask=[i == 2 for i in range(len(names))]),
                          "name": names,
                          "x": np.ma.masked_array([0.1, -1e-300, 1e300, float("nan"), 2.5, 0.0, 3.0],
                                                  mask=[False, False, False, False, True, False, False])})
    votable = from_table(table)
    votable.get_first_table().format = serialization
    out = io.BytesIO()
    writeto(votable, out)
    return out.getvalue()


async def _loaded_rows(settings: Settings, query_pool: AsyncConnectionPool[Any], content: bytes) -> list[Any]:
    async with open_uploads(["t,param:f"], {"f": io.BytesIO(content)}, settings, principal=ANONYMOUS) as uploads:
        stream = await start(_gate(query_pool), "SELECT n, name, x::text FROM pg_temp.t ORDER BY n, name",
                             [ResultColumn("n", "long"), ResultColumn("name", "char", arraysize="*"),
                              ResultColumn("x", "char", arraysize="*")], adql="q", maxrec=100, timeout_s=10,
                             setup=uploads.setup)
        return [row async for batch in stream.batches() for row in batch]


async def test_a_small_tabledata_upload_loads_the_same_values_as_binary2(
    settings: Settings, query_pool: AsyncConnectionPool[Any]
) -> None:
    """Small TABLEDATA uploads go through the ingest's COPY-text fast path; BINARY2 row by row."""
    tabledata = await _loaded_rows(settings, query_pool, _tricky_votable("tabledata"))
    binary2 = await _loaded_rows(settings, query_pool, _tricky_votable("binary2"))
    assert tabledata == binary2
    assert "tab\there" in [r[1] for r in tabledata] and "ünïcødé ✓" in [r[1] for r in tabledata]
    assert len(tabledata) == 7 and any(r[0] is None for r in tabledata) and any(r[2] is None for r in tabledata)


async def test_row_limit_is_a_clear_error(settings: Settings, query_pool: AsyncConnectionPool[Any]) -> None:
    limited = replace(settings, upload_max_rows=10)
    async with open_uploads(["t,param:f"], {"f": io.BytesIO(_votable(11))}, limited, principal=ANONYMOUS) as uploads:
        with pytest.raises(UsageError, match="UPLOAD t: more than the limit of 10 rows"):
            await start(_gate(query_pool), "SELECT 1", [ResultColumn("x", "int")], adql="q", maxrec=1, timeout_s=10,
                        setup=uploads.setup)


async def test_byte_limit_is_a_clear_error(settings: Settings) -> None:
    small = replace(settings, upload_max_bytes=100)
    with pytest.raises(UsageError, match="larger than the limit of 100 bytes"):
        async with open_uploads(["t,param:f"], {"f": io.BytesIO(_votable())}, small, principal=ANONYMOUS):
            pass


@pytest.mark.parametrize("content", [b"not xml at all", b"<html><body>hello</body></html>", b"<VOTABLE><RESOURCE>"])
async def test_malformed_upload_is_a_clear_error_naming_the_upload(settings: Settings, content: bytes) -> None:
    with pytest.raises(UsageError, match=r"^UPLOAD t: ") as info:
        async with open_uploads(["t,param:f"], {"f": io.BytesIO(content)}, settings, principal=ANONYMOUS):
            pass
    assert "/tmp" not in info.value.message  # no server paths in client messages


async def test_missing_part_is_a_clear_error(settings: Settings) -> None:
    with pytest.raises(UsageError, match="no file part named 'f'"):
        async with open_uploads(["t,param:f"], {}, settings, principal=ANONYMOUS):
            pass


@pytest.mark.parametrize("url", [
    "http://localhost/t.xml", "http://10.1.2.3/t.xml", "https://192.168.0.1/t.xml", "http://[::1]/t.xml",
    "http://169.254.169.254/latest/meta-data", "http://0.0.0.0/t.xml", "http://[::ffff:127.0.0.1]/t.xml",
])
async def test_urls_of_non_public_addresses_are_refused(settings: Settings, url: str) -> None:
    with pytest.raises(UsageError, match="only public addresses"):
        async with open_uploads([f"t,{url}"], {}, settings, principal=ANONYMOUS):
            pass


async def test_a_listening_local_server_is_not_fetched(settings: Settings, local_http: str) -> None:
    with pytest.raises(UsageError, match=r"127\.0\.0\.1 resolves to the non-public address 127\.0\.0\.1"):
        async with open_uploads([f"t,{local_http}"], {}, settings, principal=ANONYMOUS):
            pass


def _gate(pool: AsyncConnectionPool[Any]) -> QueryGate:
    """The pool as queries get it (through the gate)."""
    return QueryGate(pool, GateLimits(active=2, slow=0, per_client=4, queue_wait_s=10))
# -- limits after decompression (issue 13.3) ------------------------------------------------------------------

def _one_cell_votable(cell: bytes, cells: int = 1) -> bytes:
    fields = b"".join(b'<FIELD name="c%d" datatype="char" arraysize="*"/>' % i for i in range(cells))
    return (b'<VOTABLE version="1.4"><RESOURCE><TABLE>' + fields + b"<DATA><TABLEDATA><TR>"
            + b"".join(b"<TD>" + cell + b"</TD>" for _ in range(cells))
            + b"</TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>")


def _gzip_bomb(cell_bytes: int) -> bytes:
    """A gzipped VOTable whose one cell decompresses to ``cell_bytes`` bytes (about 1000 times its size)."""
    head, tail = _one_cell_votable(b"|").split(b"|")
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip member
    parts = [packer.compress(head)]
    block = b"x" * (1 << 20)
    for _ in range(cell_bytes // len(block)):
        parts.append(packer.compress(block))
    parts.append(packer.compress(tail) + packer.flush())
    return b"".join(parts)


async def _load_rows(settings: Settings, query_pool: AsyncConnectionPool[Any], content: bytes) -> list[tuple[Any, ...]]:
    async with open_uploads(["t,param:f"], {"f": io.BytesIO(content)}, settings, principal=ANONYMOUS) as uploads:
        stream = await start(_gate(query_pool), "SELECT count(*) FROM pg_temp.t", [ResultColumn("n", "long")], adql="q",
                             maxrec=1, timeout_s=10, setup=uploads.setup)
    try:
        return [row async for batch in stream.batches() for row in batch]
    finally:
        await stream.close()


async def test_gzipped_upload_is_limited_once_decompressed(settings: Settings) -> None:
    bomb = _gzip_bomb(4 << 20)
    assert len(bomb) < 100_000
    with pytest.raises(UsageError, match=r"UPLOAD t: larger than the limit of 1000000 bytes once decompressed"):
        async with open_uploads(["t,param:f"], {"f": io.BytesIO(bomb)}, replace(settings, upload_max_bytes=1_000_000),
                                principal=ANONYMOUS):
            pass


async def test_a_gzipped_table_within_the_limits_is_read(settings: Settings,
                                                          query_pool: AsyncConnectionPool[Any]) -> None:
    assert await _load_rows(settings, query_pool, gzip.compress(_votable(50))) == [(50,)]


@pytest.mark.parametrize(("content", "message"), [
    (_one_cell_votable(b"y" * (UPLOAD_LIMITS.max_cell_bytes + 1)), "a cell is larger than the limit of 1048576"),
    (_one_cell_votable(b"y" * (12 << 20)), "larger than the limit of 1048576 bytes"),  # over libxml2's 10 MB too
    (_one_cell_votable(b"<![CDATA[" + b"y" * (12 << 20) + b"]]>"), "larger than the limit of 1048576 bytes"),
    (_one_cell_votable(b"y" * (1 << 20), cells=5), "a row is larger than the limit of 4194304 bytes"),
])
async def test_tabledata_cells_and_rows_are_limited(settings: Settings, query_pool: AsyncConnectionPool[Any],
                                                    content: bytes, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        await _load_rows(settings, query_pool, content)


def _binary2(field: bytes, row: bytes) -> bytes:
    return (b'<VOTABLE version="1.4"><RESOURCE><TABLE>' + field + b"<DATA><BINARY2><STREAM encoding=\"base64\">"
            + base64.b64encode(row) + b"</STREAM></BINARY2></DATA></TABLE></RESOURCE></VOTABLE>")


@pytest.mark.parametrize(("content", "message"), [
    # a variable-length cell announcing 100 MB is refused before its bytes are collected
    (_binary2(b'<FIELD name="c" datatype="char" arraysize="*"/>', b"\x00" + struct.pack(">I", 100_000_000) + b"ab"),
     "a cell is larger than the limit of 1048576 bytes"),
    (_binary2(b'<FIELD name="c" datatype="double" arraysize="200000"/>', b"\x00" + b"\x00" * 16),
     "a cell is larger than the limit of 1048576 bytes"),
])
async def test_binary_cells_are_limited(settings: Settings, query_pool: AsyncConnectionPool[Any], content: bytes,
                                        message: str) -> None:
    with pytest.raises(UsageError, match=message):
        await _load_rows(settings, query_pool, content)


async def test_fits_rows_are_limited(settings: Settings, tmp_path: Path) -> None:
    wide = AstropyTable({"spectrum": np.zeros((2, 600_000))})  # 4.8 MB rows
    path = tmp_path / "wide.fits"
    wide.write(path, format="fits")
    with pytest.raises(UsageError, match="larger than the limit of"):
        async with open_uploads(["t,param:f"], {"f": path}, settings, principal=ANONYMOUS):
            pass


def test_upload_names_longer_than_postgresql_identifiers_are_refused() -> None:
    # PostgreSQL cuts names at 63 bytes: these two would have been the same temporary table
    long_a, long_b = "t" * 63 + "a", "t" * 63 + "b"
    with pytest.raises(UsageError, match="longer than 63 characters"):
        parse_upload_refs([f"{long_a},param:a;{long_b},param:b"])
    assert [r.name for r in parse_upload_refs(["t" * 63 + ",param:a"])] == ["t" * 63]


def _rss_bytes(pid: int) -> int:
    """Resident memory of a process, from /proc/<pid>/status (VmRSS, in kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


@pytest.mark.slow
def test_a_gzip_bomb_is_refused_by_a_live_server_whose_memory_stays_flat(live_process: tuple[str, int]) -> None:
    base, pid = live_process
    bomb = _gzip_bomb(512 << 20)  # one 512 MB cell in about 0.5 MB
    assert len(bomb) < 1_000_000

    def post() -> httpx.Response:
        return httpx.post(f"{base}/sync", data={"QUERY": "SELECT * FROM TAP_UPLOAD.t", "UPLOAD": "t,param:f"},
                          files={"f": ("bomb.vot.gz", bomb)}, timeout=120)

    with ThreadPoolExecutor(2) as pool:  # two at once, as in the attack
        responses = list(pool.map(lambda _: post(), range(2)))
    for response in responses:
        assert response.status_code == 400
        assert "larger than the limit of 50000000 bytes once decompressed" in response.text
    assert _rss_bytes(pid) < 300 << 20


async def test_a_body_over_the_limit_is_refused_while_it_arrives(settings: Settings) -> None:
    small = replace(settings, upload_max_bytes=10_000)
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f\"\r\n\r\n"
        for _ in range(1000):  # 64 MB in all, if it were all read
            sent += 1
            yield b"x" * 65536

    app = create_app(small)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post("/tap/sync", params={"QUERY": "SELECT 1", "UPLOAD": "t,param:f"},
                                         content=body(),
                                         headers={"content-type": "multipart/form-data; boundary=b"})
            assert response.status_code == 413
            assert "larger than the limit of" in response.text
            assert sent < 100  # reading stopped at the limit, the rest was never spooled
            announced = await client.post("/tap/sync", params={"QUERY": "SELECT 1"}, content=b"x" * 2_000_000,
                                          headers={"content-type": "application/x-www-form-urlencoded"})
            assert announced.status_code == 413
