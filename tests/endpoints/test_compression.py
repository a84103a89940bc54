"""Responses are gzip (or deflate) when the client accepts it: results, async results, VOSI, cone searches.

Bytes are read as they travel (httpx ``aiter_raw``, ``http.client``: neither decompresses), so each test
sees what is on the wire and decodes it itself.
"""

from __future__ import annotations

import gc
import gzip
import http.client
import io
import re
import time
import urllib.parse
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import requests
from asgi_lifespan import LifespanManager
from astropy.io import fits
from astropy.io.votable import parse_single_table
from lxml import etree
from pyvo.dal import TAPService

from jmmctap.app import create_app
from jmmctap.db.connect import conninfos
from jmmctap.settings import Settings
from jmmctap.uws.files import results_directory

pytestmark = pytest.mark.usefixtures("testdata")

UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
WBITS = {"gzip": 31, "deflate": 15}
ALL_NUMBERS = "SELECT n, x, label FROM testdata.numbers ORDER BY n"
LATE_ERROR = "SELECT 1 / (20000 - n) AS q FROM testdata.numbers"
"""Fails at the last row, long after the first byte (20,000 rows: several chunks)."""


class Wire:
    """A response as it travelled: status, headers, the bytes on the wire."""

    def __init__(self, status: int, headers: dict[str, str], raw: bytes) -> None:
        self.status, self.headers, self.raw = status, headers, raw

    @property
    def coding(self) -> str | None:
        return self.headers.get("content-encoding")

    def decoded(self) -> bytes:
        """The body with its content coding undone; the coded stream must be complete."""
        if self.coding is None:
            return self.raw
        decoder = zlib.decompressobj(WBITS[self.coding])
        body = decoder.decompress(self.raw)
        assert decoder.eof and not decoder.unused_data, "the coded stream is not finished"
        return body


async def fetch(client: httpx.AsyncClient, method: str, url: str, accept_encoding: str | None,
                **kwargs: Any) -> Wire:
    """One request in-process; ``accept_encoding=None`` sends no Accept-Encoding header at all."""
    request = client.build_request(method, url, **kwargs)
    del request.headers["accept-encoding"]
    if accept_encoding is not None:
        request.headers["accept-encoding"] = accept_encoding
    response = await client.send(request, stream=True)
    try:
        raw = b"".join([part async for part in response.aiter_raw()])
    finally:
        await response.aclose()
    return Wire(response.status_code, {k.lower(): v for k, v in response.headers.items()}, raw)


def fetch_live(base: str, path: str, accept_encoding: str | None, params: dict[str, str] | None = None) -> Wire:
    """One request to the live server through ``http.client`` (POST when ``params`` are given)."""
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=120)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if accept_encoding is not None:
        headers["Accept-Encoding"] = accept_encoding
    try:
        if params is None:
            connection.request("GET", url.path + path, headers=headers)
        else:
            connection.request("POST", url.path + path, urllib.parse.urlencode(params), headers)
        response = connection.getresponse()
        return Wire(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def sync_params(query: str, **extra: str) -> dict[str, str]:
    return {"LANG": "ADQL", "QUERY": query, **extra}


def without_request_time(document: bytes) -> bytes:
    """A VOTable result without its request time INFO (two requests may fall in different seconds)."""
    return re.sub(rb'<INFO name="request_date" value="[^"]*"/>', b"", document)


@pytest.mark.parametrize("path", [
    "/tap/capabilities", "/tap/tables", "/tap/tables?detail=min", "/tap/tables/testdata.numbers",
    "/tap/availability", "/tap/examples",
])
@pytest.mark.parametrize(("accept_encoding", "coding"), [
    ("gzip", "gzip"), ("deflate", "deflate"), ("gzip, deflate, br", "gzip"), ("gzip;q=0", None),
    ("identity", None), (None, None),
])
async def test_vosi_documents_are_compressed_only_when_asked(
    client: httpx.AsyncClient, path: str, accept_encoding: str | None, coding: str | None
) -> None:
    identity = await fetch(client, "GET", path, None)
    response = await fetch(client, "GET", path, accept_encoding)
    assert (identity.status, response.status) == (200, 200)
    assert response.coding == coding and identity.coding is None
    assert response.headers["vary"] == identity.headers["vary"] == "Accept-Encoding"
    assert int(response.headers["content-length"]) == len(response.raw)
    assert response.headers["content-type"] == identity.headers["content-type"]
    assert response.decoded() == identity.raw
    if coding is not None and len(identity.raw) > 1000:
        assert len(response.raw) < len(identity.raw) / 2


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_a_sync_result_shrinks_on_the_wire_and_decodes_to_the_same_bytes(live_server: str, coding: str) -> None:
    params = sync_params(ALL_NUMBERS, FORMAT="csv", MAXREC="20000")
    identity = fetch_live(live_server, "/sync", None, params)
    coded = fetch_live(live_server, "/sync", coding, params)
    assert (identity.status, coded.status) == (200, 200)
    assert (identity.coding, coded.coding) == (None, coding)
    assert coded.headers["vary"] == "Accept-Encoding" and "content-length" not in coded.headers
    assert len(coded.raw) < len(identity.raw) / 2  # 20,000 rows of CSV
    assert coded.decoded() == identity.raw


def test_a_gzip_votable_decodes_to_the_same_document(live_server: str) -> None:
    params = sync_params(ALL_NUMBERS, MAXREC="20000")
    identity = fetch_live(live_server, "/sync", "identity", params)
    coded = fetch_live(live_server, "/sync", "gzip", params)
    assert (identity.coding, coded.coding) == (None, "gzip")
    assert len(coded.raw) < len(identity.raw)
    assert without_request_time(coded.decoded()) == without_request_time(identity.raw)


def test_astropy_reads_the_gzip_bytes_of_votable_and_fits_results(live_server: str, tmp_path: Path) -> None:
    votable = fetch_live(live_server, "/sync", "gzip", sync_params(ALL_NUMBERS, MAXREC="20000"))
    assert votable.coding == "gzip"
    table = parse_single_table(io.BytesIO(votable.raw)).to_table()  # astropy decompresses gzip input itself
    assert len(table) == 20000 and list(table["n"][:3]) == [1, 2, 3]
    result = fetch_live(live_server, "/sync", "gzip", sync_params(ALL_NUMBERS, MAXREC="20000", FORMAT="fits"))
    assert result.coding == "gzip" and result.headers["content-type"] == "application/fits"
    saved = tmp_path / "result.fits"  # the bytes as received: astropy finds the gzip signature in a file
    saved.write_bytes(result.raw)
    with fits.open(saved) as hdus:
        assert hdus[1].header["NAXIS2"] == 20000 and list(hdus[1].data["label"][-2:]) == ["n19999", "n20000"]


@pytest.fixture
def recording_tap(live_server: str) -> Iterator[tuple[TAPService, list[requests.Response]]]:
    """A pyvo service over a requests session (which asks for gzip, as pyvo's own does) that keeps every response."""
    seen: list[requests.Response] = []

    def record(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        seen.append(response)

    with requests.Session() as session:
        session.hooks["response"].append(record)
        yield TAPService(live_server, session=session), seen
    seen.clear()
    gc.collect()  # the responses pyvo leaves open, while the test's warning filter applies


def _coding_of(seen: list[requests.Response], path_end: str) -> set[str | None]:
    return {r.headers.get("Content-Encoding") for r in seen if urllib.parse.urlsplit(r.url).path.endswith(path_end)}


@pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning")  # pyvo leaves its job responses to the GC
def test_pyvo_reads_gzip_sync_and_async_results(
    recording_tap: tuple[TAPService, list[requests.Response]]
) -> None:
    tap, seen = recording_tap
    rows = tap.run_sync(ALL_NUMBERS, maxrec=20000).to_table()
    assert len(rows) == 20000 and rows["label"][-1] == "n20000"
    assert "gzip" in seen[-1].request.headers["Accept-Encoding"]  # requests' default, which pyvo keeps
    assert _coding_of(seen, "/sync") == {"gzip"}
    rows = tap.run_async("SELECT TOP 1234 n, label FROM testdata.numbers ORDER BY n").to_table()
    assert len(rows) == 1234 and rows["label"][-1] == "n1234"
    assert _coding_of(seen, "/results/result") == {"gzip"}


async def test_a_late_error_ends_a_complete_gzip_stream(client: httpx.AsyncClient) -> None:
    response = await fetch(client, "POST", "/tap/sync", "gzip",
                           data=sync_params(LATE_ERROR, MAXREC="30000", RESPONSEFORMAT="votable/td"))
    assert (response.status, response.coding) == (200, "gzip")
    document = response.decoded()  # finished: eof and nothing after it
    assert b'<INFO name="QUERY_STATUS" value="ERROR"' in document[-2000:]
    assert document.rstrip().endswith(b"</VOTABLE>")


async def test_an_overflow_ends_a_complete_gzip_stream(client: httpx.AsyncClient) -> None:
    response = await fetch(client, "POST", "/tap/sync", "gzip", data=sync_params(ALL_NUMBERS, MAXREC="7"))
    assert response.coding == "gzip"
    table = parse_single_table(io.BytesIO(response.decoded()))
    assert len(table.array) == 7
    assert b'value="OVERFLOW"' in response.decoded()[-1000:]


async def test_an_error_before_the_first_byte_is_not_compressed(client: httpx.AsyncClient) -> None:
    response = await fetch(client, "POST", "/tap/sync", "gzip", data=sync_params("SELEKT 1"))
    assert (response.status, response.coding) == (400, None)
    assert b'value="ERROR"' in response.raw


async def _run_job(client: httpx.AsyncClient, query: str, **params: str) -> tuple[str, etree._Element]:
    """Create and run a job; its URL and final job document."""
    created = await client.post("/tap/async", data={"LANG": "ADQL", "QUERY": query, "PHASE": "RUN", **params})
    assert created.status_code == 303
    url = created.headers["location"].removeprefix("http://testserver")
    for _ in range(20):
        job = etree.fromstring((await client.get(url, params={"WAIT": "10"})).content)
        if job.findtext(f"{UWS}phase") not in ("PENDING", "QUEUED", "EXECUTING"):
            assert job.findtext(f"{UWS}phase") == "COMPLETED", etree.tostring(job)
            return url, job
    raise AssertionError("the job did not finish")


@pytest.mark.parametrize("fmt", ["votable", "csv", "fits"])
async def test_an_async_result_is_stored_gzipped_and_sent_as_each_client_accepts(
    client: httpx.AsyncClient, settings: Settings, fmt: str
) -> None:
    url, job = await _run_job(client, ALL_NUMBERS, MAXREC="20000", RESPONSEFORMAT=fmt)
    stored = results_directory(settings) / url.rsplit("/", 1)[1] / "result.gz"
    size = int(job.find(f"{UWS}results/{UWS}result").get("size"))
    as_is = await fetch(client, "GET", url + "/results/result", "gzip, deflate")
    assert (as_is.status, as_is.coding, as_is.headers["vary"]) == (200, "gzip", "Accept-Encoding")
    assert as_is.raw == stored.read_bytes()
    for accept_encoding in (None, "identity", "gzip;q=0", "deflate"):  # decompressed on the fly
        plain = await fetch(client, "GET", url + "/results/result", accept_encoding)
        assert (plain.status, plain.coding, plain.headers["vary"]) == (200, None, "Accept-Encoding")
        assert plain.headers["content-type"] == as_is.headers["content-type"]
        assert int(plain.headers["content-length"]) == size == len(plain.raw)
        assert plain.raw == gzip.decompress(as_is.raw)
    assert len(as_is.raw) < size


@pytest.fixture
async def uncompressing_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The application with ``JMMCTAP_GZIP_LEVEL=0``."""
    app = create_app(replace(settings, gzip_level=0))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http_client:
            yield http_client


async def test_level_zero_sends_everything_uncompressed(uncompressing_client: httpx.AsyncClient) -> None:
    client = uncompressing_client
    assert (await fetch(client, "GET", "/tap/capabilities", "gzip")).coding is None
    response = await fetch(client, "POST", "/tap/sync", "gzip", data=sync_params(ALL_NUMBERS, MAXREC="20"))
    assert (response.status, response.coding) == (200, None)
    assert len(parse_single_table(io.BytesIO(response.raw)).array) == 20
    url, _ = await _run_job(client, ALL_NUMBERS, MAXREC="20")  # stored gzipped when the live server ran it
    result = await fetch(client, "GET", url + "/results/result", "gzip")
    assert result.coding is None and len(parse_single_table(io.BytesIO(result.raw)).array) == 20


async def test_cone_search_answers_and_errors_are_gzipped_when_asked(client: httpx.AsyncClient) -> None:
    cone = await fetch(client, "GET", "/scs/jsdc?RA=101.287&DEC=-16.716&SR=0.5", "gzip")
    assert (cone.status, cone.coding, cone.headers["vary"]) == (200, "gzip", "Accept-Encoding")
    assert cone.headers["content-type"].startswith("text/xml;content=x-votable")
    assert parse_single_table(io.BytesIO(cone.decoded())).get_field_by_id_or_name("dist") is not None
    error = await fetch(client, "GET", "/scs/jsdc?RA=101.287&DEC=-16.716", "gzip")
    assert (error.status, error.coding) == (200, "gzip")
    assert b'name="Error"' in error.decoded()
    assert (await fetch(client, "GET", "/scs/jsdc?RA=101.287&DEC=-16.716&SR=0.5", "gzip;q=0")).coding is None


def _rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))


@pytest.mark.slow
def test_a_million_row_gzip_result_streams_in_constant_memory(live_process: tuple[str, int]) -> None:
    base, pid = live_process
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=600)
    body = urllib.parse.urlencode(sync_params("SELECT TOP 1000000 * FROM testdata.series", MAXREC="1000000",
                                              RESPONSEFORMAT="votable/td"))
    connection.request("POST", "/tap/sync", body, {"Content-Type": "application/x-www-form-urlencoded",
                                                   "Accept-Encoding": "gzip"})
    response = connection.getresponse()
    assert (response.status, response.getheader("Content-Encoding")) == (200, "gzip")
    decoder = zlib.decompressobj(31)
    wire = decoded = 0
    tail = b""
    samples: list[int] = []
    while part := response.read(1 << 16):
        wire += len(part)
        text = decoder.decompress(part)
        decoded += len(text)
        tail = (tail + text)[-4096:]
        samples.append(_rss_kb(pid))
    connection.close()
    assert decoder.eof and tail.rstrip().endswith(b"</VOTABLE>")
    assert b'value="ERROR"' not in tail and b'value="OVERFLOW"' not in tail
    assert tail.count(b"<TR>") and decoded > 1_000_000 * 30 and wire < decoded / 4
    # flat: no growth with the rows once streaming runs (a buffered body would add tens of MB)
    steady = samples[len(samples) // 4]
    assert max(samples) - steady < 32 * 1024, f"server RSS grew from {steady // 1024} to {max(samples) // 1024} MB"
    assert max(samples) < 200 * 1024, f"server RSS reached {max(samples) // 1024} MB"


def _busy_query_backends(settings: Settings) -> list[tuple[Any, ...]]:
    with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
        return conn.execute("SELECT pid, state FROM pg_stat_activity WHERE usename = %s AND state <> 'idle'",
                            [settings.query_role]).fetchall()


def _eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for: {what}")
        time.sleep(0.2)


@pytest.mark.slow
def test_a_client_leaving_a_gzip_result_leaves_no_transaction_open(live_server: str, settings: Settings) -> None:
    url = urllib.parse.urlsplit(live_server)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=60)
    body = urllib.parse.urlencode(sync_params("SELECT * FROM testdata.series", MAXREC="10000000"))
    connection.request("POST", "/tap/sync", body, {"Content-Type": "application/x-www-form-urlencoded",
                                                   "Accept-Encoding": "gzip"})
    response = connection.getresponse()
    assert response.getheader("Content-Encoding") == "gzip"
    assert len(response.read(1 << 20)) == 1 << 20
    connection.close()
    _eventually(lambda: _busy_query_backends(settings) == [], "the query's transaction to end")
