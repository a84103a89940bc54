"""/tap/sync: DALI parameters, streamed VOTables, errors before and after the first byte."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from astropy.io import fits
from astropy.io.votable import parse as parse_votable
from astropy.io.votable import parse_single_table
from astropy.io.votable.tree import VOTableFile

pytestmark = pytest.mark.usefixtures("testdata")

TOP3 = "SELECT TOP 3 n, x, label FROM testdata.numbers ORDER BY n"


def votable(content: bytes) -> VOTableFile:
    return parse_votable(io.BytesIO(content))


def statuses(document: VOTableFile) -> list[str]:
    """QUERY_STATUS values in document order (results RESOURCE), as pyvo reads them."""
    resource = document.resources[0]
    infos = list(resource.infos) + [i for t in resource.tables for i in t.infos]
    infos += list(getattr(resource, "postinfos", []))
    return [i.value for i in infos if i.name == "QUERY_STATUS"]


async def test_post_returns_rows_and_field_metadata(client: httpx.AsyncClient) -> None:
    response = await client.post("/tap/sync", data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": TOP3})
    assert response.status_code == 200
    table = parse_single_table(io.BytesIO(response.content))
    assert [list(r) for r in table.array.tolist()] == [[1, 0.25, "n1"], [2, 0.5, "n2"], [3, 0.75, "n3"]]
    assert str(table.get_field_by_id_or_name("x").unit) == "m"
    assert statuses(votable(response.content))[0] == "OK"


async def test_parameter_names_and_lang_are_case_insensitive(client: httpx.AsyncClient) -> None:
    response = await client.get("/tap/sync", params={"request": "DOQUERY", "lang": "adql-2.0", "query": TOP3})
    assert response.status_code == 200
    assert len(parse_single_table(io.BytesIO(response.content)).array) == 3


@pytest.mark.parametrize("lang", ["ADQL", "ADQL-2.0", "ADQL-2.1", "adql"])
async def test_adql_versions_are_accepted(client: httpx.AsyncClient, lang: str) -> None:
    assert (await client.post("/tap/sync", data={"LANG": lang, "QUERY": TOP3})).status_code == 200


@pytest.mark.parametrize(("params", "words"), [
    ({"LANG": "SQL", "QUERY": TOP3}, "LANG"),
    ({"LANG": "ADQL"}, "QUERY"),
    ({"REQUEST": "getCapabilities", "LANG": "ADQL", "QUERY": TOP3}, "REQUEST"),
    ({"LANG": "ADQL", "QUERY": TOP3, "MAXREC": "ten"}, "MAXREC"),
    ({"LANG": "ADQL", "QUERY": TOP3, "RESPONSEFORMAT": "application/x-nonsense"}, "format"),
    ({"LANG": "ADQL", "QUERY": "SELECT n FROM testdata.nowhere"}, "nowhere"),
    ({"LANG": "ADQL", "QUERY": "SELEKT n FROM testdata.numbers"}, "line 1"),
])
async def test_bad_requests_get_a_dali_error_document(
    client: httpx.AsyncClient, params: dict[str, str], words: str
) -> None:
    response = await client.post("/tap/sync", data=params)
    assert response.status_code == 400
    document = votable(response.content)
    assert statuses(document) == ["ERROR"]
    message = next(i for i in document.resources[0].infos if i.name == "QUERY_STATUS").content
    assert words.lower() in message.lower()


@pytest.mark.parametrize("name", ["QUERY", "LANG", "MAXREC", "RESPONSEFORMAT", "REQUEST"])
async def test_a_single_valued_parameter_given_twice_differently_is_an_error(
    client: httpx.AsyncClient, name: str
) -> None:
    base = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": TOP3, "MAXREC": "2", "RESPONSEFORMAT": "csv"}
    other = {"QUERY": "SELECT TOP 1 n FROM testdata.numbers", "LANG": "ADQL-2.0", "MAXREC": "3",
             "RESPONSEFORMAT": "tsv", "REQUEST": "getCapabilities"}[name]
    params = httpx.QueryParams([*base.items(), (name.lower(), other)])  # names are case-insensitive too
    response = await client.get("/tap/sync", params=params)
    assert response.status_code == 400
    assert f"the {name} parameter is given several times" in response.text
    repeated = httpx.QueryParams([*base.items(), (name, base[name])])
    assert (await client.get("/tap/sync", params=repeated)).status_code == 200  # the same value twice is one value


async def test_unknown_parameters_are_ignored(client: httpx.AsyncClient) -> None:
    response = await client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": TOP3, "FOO": "bar"})
    assert response.status_code == 200


@pytest.mark.parametrize(("maxrec", "rows", "overflow"), [("5", 5, True), ("20000", 20000, False),
                                                           ("0", 0, True), ("-1", 20000, False)])
async def test_maxrec_and_overflow(client: httpx.AsyncClient, maxrec: str, rows: int, overflow: bool) -> None:
    response = await client.post("/tap/sync", data={"LANG": "ADQL", "MAXREC": maxrec,
                                                     "QUERY": "SELECT n FROM testdata.numbers"})
    document = votable(response.content)
    assert len(document.get_first_table().array) == rows
    assert ("OVERFLOW" in statuses(document)) is overflow


async def test_top_within_maxrec_is_no_overflow(client: httpx.AsyncClient) -> None:
    response = await client.post("/tap/sync", data={"LANG": "ADQL", "MAXREC": "3", "QUERY": TOP3})
    assert "OVERFLOW" not in statuses(votable(response.content))


async def test_error_after_streaming_began_closes_the_document(client: httpx.AsyncClient) -> None:
    query = "SELECT n, 1 / (n - 15000) AS boom FROM testdata.numbers ORDER BY n"
    response = await client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": query})
    assert response.status_code == 200  # the header was already sent
    document = votable(response.content)
    assert statuses(document)[0] == "OK" and statuses(document)[-1] == "ERROR"


@pytest.mark.parametrize(("fmt", "media"), [("csv", "text/csv"), ("text/csv", "text/csv"),
                                            ("votable/td", "application/x-votable+xml"),
                                            ("TSV", "text/tab-separated-values")])
async def test_response_format(client: httpx.AsyncClient, fmt: str, media: str) -> None:
    response = await client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": TOP3, "RESPONSEFORMAT": fmt})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)


@pytest.mark.parametrize(("data", "status", "rows"), [
    ({"QUERY": "SELECT n, x, label FROM testdata.numbers ORDER BY n", "MAXREC": "7"}, "OVERFLOW", 7),
    ({"QUERY": "SELECT n, 1 / (n - 15000) AS boom FROM testdata.numbers ORDER BY n"}, "ERROR", None),
    ({"QUERY": TOP3, "MAXREC": "3"}, "OK", 3),
])
async def test_fits_results_tell_how_the_query_ended(client: httpx.AsyncClient, data: dict[str, str], status: str,
                                                     rows: int | None) -> None:
    response = await client.post("/tap/sync", data={"LANG": "ADQL", "RESPONSEFORMAT": "fits", **data})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/fits"
    with fits.open(io.BytesIO(response.content)) as hdus:
        hdus.verify("exception")
        header, table = hdus[1].header, hdus[1].data
        assert header["QSTATUS"] == status
        assert list(table["n"][:3]) == [1, 2, 3]
        count = len(table)
    if rows is None:
        assert 0 < count < 15000  # the rows received before the failure are kept
        assert "division by zero" in header["QSTATMSG"]
    else:
        assert count == rows
        assert (header["TUNIT2"], header["TUCD1"]) == ("m", "meta.id;meta.main")


@pytest.mark.slow
def test_pyvo_run_sync_with_and_without_maxrec(live_server: str) -> None:
    import pyvo

    service = pyvo.dal.TAPService(live_server)
    complete = service.run_sync(TOP3)
    assert len(complete) == 3 and complete.query_status == "OK"
    # pyvo >= 1.8 only warns when the service truncated below the client's own MAXREC
    truncated = service.run_sync("SELECT n FROM testdata.numbers", maxrec=7)
    assert len(truncated) == 7 and truncated.query_status == "OVERFLOW"


def _query_backends(owner_dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        return conn.execute("SELECT pid, state FROM pg_stat_activity WHERE usename = 'jmmctap_query'"
                            " AND state NOT IN ('idle')").fetchall()


@pytest.mark.slow
def test_client_disconnect_leaves_no_transaction_open(live_server: str, settings: Any) -> None:
    from jmmctap.db.connect import conninfos

    with httpx.stream("POST", f"{live_server}/sync", data={"LANG": "ADQL", "QUERY": "SELECT * FROM testdata.series",
                                                           "MAXREC": "10000000"}, timeout=60) as response:
        received = 0
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > 1_000_000:
                break
    assert received > 1_000_000
    time.sleep(2)
    assert _query_backends(conninfos(settings).owner) == []


@pytest.mark.slow
def test_ten_million_rows_stream_in_constant_memory(live_process: tuple[str, int]) -> None:
    url, pid = live_process
    status = Path(f"/proc/{pid}/status")
    peak_kb = 0
    received = 0
    with httpx.stream("POST", f"{url}/sync", data={"LANG": "ADQL", "QUERY": "SELECT * FROM testdata.series",
                                                   "MAXREC": "10000000", "FORMAT": "votable/b2"},
                      timeout=600) as response:
        tail = b""
        for i, chunk in enumerate(response.iter_bytes(1 << 20)):
            received += len(chunk)
            tail = (tail + chunk)[-4096:]
            if i % 16 == 0:
                rss = next(int(ln.split()[1]) for ln in status.read_text().splitlines() if ln.startswith("VmRSS:"))
                peak_kb = max(peak_kb, rss)
    assert received > 10_000_000 * 8  # every row arrived (8+ bytes each in BINARY2)
    assert tail.rstrip().endswith(b"</VOTABLE>")
    assert b'value="ERROR"' not in tail and b'value="OVERFLOW"' not in tail
    assert peak_kb < 200 * 1024, f"server RSS reached {peak_kb / 1024:.0f} MB"


@pytest.mark.slow
def test_a_four_million_row_fits_result_keeps_memory_flat(live_process: tuple[str, int]) -> None:
    url, pid = live_process
    rows = 4_000_000
    with httpx.stream("POST", f"{url}/sync", data={"LANG": "ADQL", "QUERY": "SELECT * FROM testdata.series",
                                                   "MAXREC": str(rows), "FORMAT": "fits"}, timeout=600) as response:
        assert response.status_code == 200
        received, head, tail = 0, b"", b""
        for chunk in response.iter_bytes(1 << 20):
            received += len(chunk)
            head = head or chunk[:5760]
            tail = (tail + chunk)[-2880:]
    # the server's peak RSS over its whole life, this spooled result included (its rows are ~130 MB)
    peak_kb = next(int(ln.split()[1]) for ln in Path(f"/proc/{pid}/status").read_text().splitlines()
                   if ln.startswith("VmHWM:"))
    assert received % 2880 == 0 and received > rows * 16
    header = fits.Header.fromstring(head[2880:].decode("ascii"))
    assert (header["NAXIS2"], header["QSTATUS"]) == (rows, "OVERFLOW")
    assert peak_kb < 200 * 1024, f"server RSS reached {peak_kb / 1024:.0f} MB"
