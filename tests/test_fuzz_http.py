"""Whatever the parameters, no HTTP request gets a 5xx: sync, async and its sub-resources, SCS, uploads.

Hypothesis draws parameter names and values (NUL characters, huge and non-finite numbers, instants outside
the calendar, overlong texts, malformed UPLOAD references and files) and sends them to the live server, so
uvicorn's parsing is part of what is fuzzed. A 5xx, or a connection the server drops, fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.usefixtures("testdata")

EXAMPLES = 100
"""Examples per strategy: enough to meet each kind of bad value, few enough for the suite's time budget."""

FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

QUERIES = ["SELECT TOP 3 n, label FROM testdata.numbers", "SELECT TOP 1 * FROM TAP_UPLOAD.t", "SELECT", ""]
NAMES = ["QUERY", "LANG", "REQUEST", "FORMAT", "RESPONSEFORMAT", "MAXREC", "RUNID", "UPLOAD", "PHASE",
         "EXECUTIONDURATION", "DESTRUCTION", "ACTION", "AFTER", "LAST", "RA", "DEC", "SR", "VERB"]
SPECIAL = ["", "\x00", "a\x00b", "-1", "0", "1", "99999999999999999999", "-99999999999999999999", "1e308", "-1e308",
           "1e-400", "nan", "inf", "-inf", "9" * 5000, "x" * 5000, "9999-12-31T23:59:59-14:00",
           "0001-01-01T00:00:00+14:00", "2030-01-01T00:00:00Z", "2030-13-45T99:99:99", "RUN", "ABORT", "DELETE",
           "PENDING", "votable", "csv", "application/x-votable+xml", "doQuery", "ADQL", "t,param:f", "t,param:g",
           "t,http://127.0.0.1/x", "t,file:///etc/passwd", "x" * 70 + ",param:f", ";;", ",", "ω", "\ud7ff"]

values = st.one_of(st.sampled_from(SPECIAL), st.text(max_size=40), st.integers().map(str),
                   st.floats().map(repr))
names = st.one_of(st.sampled_from(NAMES), st.sampled_from(NAMES).map(str.lower), st.text(max_size=12))
params = st.dictionaries(names, values, max_size=6)
short_waits = st.sampled_from(["0", "0.01", "nan", "soon", "\x00", "1e-9", "-0"])
"""WAIT values that never block long (a positive WAIT blocks on a PENDING job, -1 for 60 s)."""

VOTABLE = (b'<VOTABLE version="1.4"><RESOURCE><TABLE><FIELD name="ra" datatype="double" unit="deg"/>'
           b'<FIELD name="dec" datatype="double" unit="deg"/><DATA><TABLEDATA><TR><TD>10</TD><TD>20</TD></TR>'
           b"</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>")
files = st.one_of(st.just(VOTABLE), st.binary(max_size=200), st.just(b"\x1f\x8b" + bytes(20)),
                  st.builds(lambda cut: VOTABLE[:cut], st.integers(0, len(VOTABLE))))


@pytest.fixture(scope="module")
def http(live_server: str) -> Iterator[httpx.Client]:
    """One keep-alive client on the live server (a dropped connection raises, and fails the example)."""
    with httpx.Client(base_url=live_server.removesuffix("/tap"), timeout=60, follow_redirects=False) as client:
        yield client


def _check(response: httpx.Response) -> httpx.Response:
    assert response.status_code < 500, f"{response.request.method} {response.request.url}: {response.text[:500]}"
    return response


def _send(http: httpx.Client, method: str, url: str, data: dict[str, str] | None = None,
          **kwargs: Any) -> httpx.Response:
    if method == "GET":
        return _check(http.get(url, params=data, **kwargs))
    return _check(http.post(url, data=data, **kwargs))


@FUZZ
@given(method=st.sampled_from(["GET", "POST"]), query=st.sampled_from(QUERIES), fuzzed=params)
def test_sync_parameters(http: httpx.Client, method: str, query: str, fuzzed: dict[str, str]) -> None:
    _send(http, method, "/tap/sync", {"QUERY": query, **fuzzed})


@FUZZ
@given(upload=values, part=st.sampled_from(["f", "g", "F"]), content=files, query=st.sampled_from(QUERIES),
       fuzzed=params)
def test_upload_parameters(http: httpx.Client, upload: str, part: str, content: bytes, query: str,
                           fuzzed: dict[str, str]) -> None:
    data = {"QUERY": query, **{k: v for k, v in fuzzed.items() if k.isascii() and k.isprintable()}, "UPLOAD": upload}
    _send(http, "POST", "/tap/sync", data, files={part: ("t.xml", content)})
    _send(http, "POST", "/tap/async", data, files={part: ("t.xml", content)})


@FUZZ
@given(created=params, phase=values, duration=values, destruction=values, added=params, wait=short_waits,
       wait_phase=values, action=values)
def test_async_job_and_its_sub_resources(http: httpx.Client, created: dict[str, str], phase: str, duration: str,
                                         destruction: str, added: dict[str, str], wait: str, wait_phase: str,
                                         action: str) -> None:
    created = {k: v for k, v in created.items() if k.upper() not in ("WAIT",)}
    response = _send(http, "POST", "/tap/async", {"QUERY": QUERIES[0], **created})
    if response.status_code != 303:
        return
    job = httpx.URL(response.headers["location"]).path
    try:
        _send(http, "POST", job + "/executionduration", {"EXECUTIONDURATION": duration})
        _send(http, "POST", job + "/destruction", {"DESTRUCTION": destruction})
        _send(http, "POST", job + "/parameters", added)
        for resource in ("", "/phase", "/executionduration", "/destruction", "/quote", "/owner", "/parameters",
                         "/results", "/error", "/results/result"):
            _send(http, "GET", job + resource)
        _send(http, "GET", job, {"WAIT": wait, "PHASE": wait_phase})
        _send(http, "POST", job + "/phase", {"PHASE": phase if phase.upper() != "RUN" else "ABORT"})
        _send(http, "POST", job, {"ACTION": action})
    finally:
        _check(http.delete(job))


@FUZZ
@given(job_id=st.text(max_size=80), resource=st.sampled_from(["", "/phase", "/parameters", "/results/result",
                                                               "/parameters/f", "/error", "/quote"]),
       method=st.sampled_from(["GET", "POST"]), fuzzed=params)
def test_job_urls_that_name_no_job(http: httpx.Client, job_id: str, resource: str, method: str,
                                   fuzzed: dict[str, str]) -> None:
    _send(http, method, "/tap/async/" + quote(job_id or "x", safe="") + resource, fuzzed)


@FUZZ
@given(phases=st.lists(values, max_size=3), after=values, last=values, fuzzed=params)
def test_job_list_filters(http: httpx.Client, phases: list[str], after: str, last: str,
                          fuzzed: dict[str, str]) -> None:
    query: list[tuple[str, str]] = [("PHASE", p) for p in phases] + [("AFTER", after), ("LAST", last)]
    _check(http.get("/tap/async", params=[*query, *fuzzed.items()]))


@FUZZ
@given(catalogue=st.one_of(st.sampled_from(["obsportal", "jsdc"]), st.text(max_size=20)),
       method=st.sampled_from(["GET", "POST"]), ra=values, dec=values, sr=st.one_of(values, st.sampled_from(["0.1"])),
       fuzzed=params)
def test_cone_search_parameters(http: httpx.Client, catalogue: str, method: str, ra: str, dec: str, sr: str,
                                fuzzed: dict[str, str]) -> None:
    _send(http, method, "/scs/" + quote(catalogue or "x", safe=""), {"RA": ra, "DEC": dec, "SR": sr, **fuzzed})
