"""TAP UPLOAD: references, limits, refused addresses, and the temporary table on the real query connection."""

from __future__ import annotations

import http.server
import io
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import pytest
from astropy.io.votable import from_table, writeto
from astropy.table import Table as AstropyTable
from psycopg_pool import AsyncConnectionPool

from jmmctap.auth import ANONYMOUS, Principal
from jmmctap.errors import UsageError
from jmmctap.query import configure_query_connection, start
from jmmctap.results import ResultColumn
from jmmctap.settings import Settings
from jmmctap.upload import UploadRef, open_uploads, parse_upload_refs


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
    async with AsyncConnectionPool(query_dsn, min_size=1, max_size=1, configure=configure_query_connection,
                                   open=False) as pool:
        await pool.open(wait=True)
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


async def test_upload_becomes_an_indexed_analysed_temporary_table_of_that_query_only(
    settings: Settings, query_pool: AsyncConnectionPool[Any]
) -> None:
    sql = ("SELECT (SELECT count(*) FROM pg_temp.t),"
           " (SELECT count(*) FROM pg_indexes WHERE tablename = 't' AND indexdef LIKE '%gist%spoint%'),"
           " (SELECT reltuples FROM pg_class WHERE oid = 'pg_temp.t'::regclass)")
    async with open_uploads(["t,param:f"], {"f": io.BytesIO(_votable(500))}, settings, principal=ANONYMOUS) as uploads:
        stream = await start(query_pool, sql, [ResultColumn("n", "long")] * 3, adql="q", maxrec=10,
                             timeout_s=10, setup=uploads.setup)
    rows = [row async for batch in stream.batches() for row in batch]
    assert rows == [(500, 1, 500.0)]  # rows loaded, GiST index on the positions, ANALYZEd
    after = await start(query_pool, "SELECT to_regclass('pg_temp.t') IS NULL", [ResultColumn("gone", "boolean")],
                        adql="q", maxrec=10, timeout_s=10)
    assert [row async for batch in after.batches() for row in batch] == [(True,)]


async def test_row_limit_is_a_clear_error(settings: Settings, query_pool: AsyncConnectionPool[Any]) -> None:
    limited = replace(settings, upload_max_rows=10)
    async with open_uploads(["t,param:f"], {"f": io.BytesIO(_votable(11))}, limited, principal=ANONYMOUS) as uploads:
        with pytest.raises(UsageError, match="UPLOAD t: more than the limit of 10 rows"):
            await start(query_pool, "SELECT 1", [ResultColumn("x", "int")], adql="q", maxrec=1, timeout_s=10,
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
