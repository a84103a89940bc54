"""The portal's pages, in-process: what a browser gets, what a TAP client still gets, errors on the page."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

import httpx
import pytest

from tests.support.accounts import TestAccount

HTML = {"Accept": "text/html,application/xhtml+xml"}

pytestmark = pytest.mark.usefixtures("samples")


async def test_landing_page_lists_each_catalogue_with_its_rows(client: httpx.AsyncClient) -> None:
    page = await client.get("/", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for schema in ("obsportal", "ivoa", "jsdc", "jmdc", "badcal", "spica"):
        assert f'href="/tap/tables#{schema}"' in page.text
    assert "http://testserver/tap" in page.text  # the URL to paste into TOPCAT
    assert 'href="/search/obscore"' in page.text and 'href="/adql"' in page.text


async def test_tap_base_url_is_the_landing_page_for_browsers_and_unchanged_for_tap_clients(
        client: httpx.AsyncClient) -> None:
    assert (await client.get("/tap", headers=HTML)).status_code == 200
    for accept in ("application/xml", "*/*", ""):
        assert (await client.get("/tap", headers={"Accept": accept})).status_code == 404
    assert (await client.get("/tap/capabilities")).status_code == 200


async def test_a_search_by_name_shows_where_the_name_was_found_its_adql_and_the_rows(
        client: httpx.AsyncClient) -> None:
    page = await client.get("/search/obscore", params={"run": "1", "target": "achernar", "radius": "2"})
    text = unescape(page.text)
    assert page.status_code == 200
    found = re.search(r"Position: RA (24\.4\d+)°, Dec (-57\.2\d+)° \((\w+) in (jsdc\.jsdc_v2|ivoa\.obscore)\)", text)
    assert found is not None and found.group(3).upper() == "ACHERNAR"
    assert re.search(r"1 = CONTAINS\(POINT\('ICRS', s_ra, s_dec\), CIRCLE\('ICRS', 24\.4\d+, -57\.2\d+, 0\.0333", text)
    assert "<tbody>" in page.text and "ACHERNAR" in text
    assert "/tap/sync?REQUEST=doQuery" in page.text and "FORMAT=fits" in page.text


async def test_an_unknown_target_is_said_on_the_form(client: httpx.AsyncClient) -> None:
    page = await client.get("/search/jsdc", params={"run": "1", "target": "no such star anywhere"})
    assert page.status_code == 200
    assert "unknown target" in unescape(page.text) and 'role="alert"' in page.text


async def test_a_bad_value_is_said_on_the_form(client: httpx.AsyncClient) -> None:
    page = await client.get("/search/jsdc", params={"run": "1", "LDD_min": "large"})
    assert "is not a number" in unescape(page.text)


async def test_a_jsdc_search_by_diameter_returns_only_stars_in_the_range(client: httpx.AsyncClient) -> None:
    page = await client.get("/search/jsdc", params={"run": "1", "LDD_min": "1", "LDD_max": "2", "order": "LDD"})
    header = re.findall(r'<th scope="col" title="[^"]*"><a [^>]*>([^<]+)</a>', page.text)
    column = header.index("LDD")
    rows = re.findall(r"<tr>\s*((?:<td>.*?</td>\s*)+)</tr>", page.text, re.S)
    values = [float(re.findall(r"<td>(.*?)</td>", row, re.S)[column]) for row in rows]
    assert values and all(1 <= v <= 2 for v in values) and values == sorted(values)


async def test_an_unknown_catalogue_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/search/nothing.here")).status_code == 404


async def test_adql_errors_are_shown_at_their_line_and_column(client: httpx.AsyncClient) -> None:
    query = "SELECT TOP 3\n  Name\nFROM jsdc.jsdc_v2 WHERE LDD >> 2"
    page = await client.get("/adql", params={"run": "1", "query": query})
    assert page.status_code == 200
    assert 'data-line="3" data-column="30"' in page.text
    assert '<mark id="error-line">FROM jsdc.jsdc_v2 WHERE LDD &gt;&gt; 2</mark>' in page.text
    assert "line 3, column 30" in page.text


async def test_an_adql_query_runs_and_its_rows_are_shown(client: httpx.AsyncClient) -> None:
    page = await client.get("/adql", params={"run": "1", "query": "SELECT TOP 3 Name, LDD FROM jsdc.jsdc_v2"})
    assert "Results: 3 rows" in page.text


async def test_an_async_run_is_a_job_of_its_owner_listed_in_my_jobs(
        client: httpx.AsyncClient, make_account: Callable[..., TestAccount]) -> None:
    alice = make_account()
    page = await client.get("/adql", params={"run": "1", "mode": "async", "query": "SELECT TOP 1 * FROM jsdc.jsdc_v2"},
                            auth=alice.basic)
    job = re.search(r'<p id="job">Job <a href="/tap/async/([^"]+)">', page.text)
    assert job is not None
    mine = await client.get("/jobs", auth=alice.basic)
    assert job.group(1) in mine.text and alice.name in mine.text
    assert job.group(1) not in (await client.get("/jobs")).text  # anonymous: nobody's jobs


async def test_login_asks_the_browser_for_the_account_then_goes_back(
        client: httpx.AsyncClient, make_account: Callable[..., TestAccount]) -> None:
    challenge = await client.get("/login")
    assert challenge.status_code == 401 and challenge.headers["www-authenticate"].startswith("Basic realm=")
    alice = make_account()
    done = await client.get("/login", params={"next": "/adql"}, auth=alice.basic)
    assert done.status_code == 303 and done.headers["location"] == "/adql"
    elsewhere = await client.get("/login", params={"next": "//evil.example/"}, auth=alice.basic)
    assert elsewhere.headers["location"] == "/"  # never a redirect off this site


async def test_pages_escape_what_users_type(client: httpx.AsyncClient) -> None:
    page = await client.get("/search/jsdc", params={"name": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_static_files_are_served_from_the_package(client: httpx.AsyncClient) -> None:
    samp = await client.get("/static/samp.js")
    assert samp.status_code == 200 and "CC0 Public Domain Dedication" in samp.text
