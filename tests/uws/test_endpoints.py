"""The /tap/async resource tree in-process: the UWS story (create → RUN → WAIT → results → DELETE) and the rules.

Documents are validated against UWS-v1.1.xsd; results are parsed with astropy.
"""

from __future__ import annotations

import io
import stat
import time
from dataclasses import replace

import httpx
import pytest
from asgi_lifespan import LifespanManager
from astropy.io.votable import parse_single_table
from lxml import etree

from jmmctap.app import create_app
from jmmctap.settings import Settings
from jmmctap.uws.files import results_directory
from tests.support.xsd import assert_valid

UWS = "http://www.ivoa.net/xml/UWS/v1.0"
ASYNC = "http://testserver/tap/async"
QUERY = "SELECT TOP 5 n, label FROM testdata.numbers ORDER BY n"

pytestmark = pytest.mark.usefixtures("testdata")


def _u(name: str) -> str:
    return f"{{{UWS}}}{name}"


async def _create(client: httpx.AsyncClient, **params: str | list[str]) -> str:
    response = await client.post("/tap/async", data={"LANG": "ADQL", **params})
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(ASYNC + "/") and "?" not in location
    return location.removeprefix("http://testserver")


async def _job(client: httpx.AsyncClient, url: str, **params: str) -> etree._Element:
    response = await client.get(url, params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    return assert_valid(response.content, UWS)


async def _wait_final(client: httpx.AsyncClient, url: str) -> etree._Element:
    for _ in range(20):
        job = await _job(client, url, WAIT="10")
        if job.findtext(_u("phase")) not in ("PENDING", "QUEUED", "EXECUTING"):
            return job
    raise AssertionError("the job did not finish")


async def test_story_create_run_wait_results_delete(client: httpx.AsyncClient) -> None:
    url = await _create(client, QUERY=QUERY, RUNID="t1")
    job = await _job(client, url)
    assert (job.get("version"), job.findtext(_u("phase")), job.findtext(_u("runId"))) == ("1.1", "PENDING", "t1")
    assert job.findtext(_u("creationTime")).endswith("Z")

    assert (await client.post(url + "/parameters", data={"MAXREC": "3"})).status_code == 303
    params = {p.get("id"): p.text for p in (await _job(client, url)).find(_u("parameters"))}
    assert params["MAXREC"] == "3" and params["QUERY"] == QUERY

    response = await client.post(url + "/phase", data={"PHASE": "RUN"})
    assert (response.status_code, response.headers["location"]) == (303, "http://testserver" + url)
    assert (await client.get(url + "/phase")).text in ("QUEUED", "EXECUTING", "COMPLETED")
    job = await _wait_final(client, url)
    assert job.findtext(_u("phase")) == "COMPLETED", etree.tostring(job)

    results = assert_valid((await client.get(url + "/results")).content, UWS)
    href = results.find(_u("result")).get("{http://www.w3.org/1999/xlink}href")
    assert href == "http://testserver" + url + "/results/result"
    response = await client.get(url + "/results/result")
    assert response.status_code == 200 and "votable" in response.headers["content-type"]
    table = parse_single_table(io.BytesIO(response.content)).to_table()
    assert list(table["n"]) == [1, 2, 3]

    listed = assert_valid((await client.get("/tap/async", params={"PHASE": "COMPLETED", "LAST": "5"})).content, UWS)
    assert [ref.get("id") for ref in listed] == []  # anonymous jobs are reached by their URL, listed to no one

    response = await client.delete(url)
    assert (response.status_code, response.headers["location"]) == (303, ASYNC)
    assert (await client.get(url)).status_code == 404


async def test_failing_query_ends_in_error_with_a_dali_error_document(client: httpx.AsyncClient) -> None:
    url = await _create(client, QUERY="SELECT nope FROM testdata.numbers", PHASE="RUN")
    job = await _wait_final(client, url)
    assert job.findtext(_u("phase")) == "ERROR"
    message = job.find(_u("errorSummary")).findtext(_u("message"))
    assert "nope" in message
    response = await client.get(url + "/error")
    assert response.status_code == 200
    status = [i for i in etree.fromstring(response.content).iter("{*}INFO") if i.get("name") == "QUERY_STATUS"]
    assert status[0].get("value") == "ERROR"
    assert (await client.get(url + "/results/result")).status_code == 404


async def test_missing_query_is_an_error_when_the_job_runs(client: httpx.AsyncClient) -> None:
    url = await _create(client)  # TAP §2.7: parameters are checked when the job runs
    await client.post(url + "/phase", data={"PHASE": "RUN"})
    job = await _wait_final(client, url)
    assert job.findtext(_u("phase")) == "ERROR"
    assert "QUERY" in job.find(_u("errorSummary")).findtext(_u("message"))


async def test_atomic_resources_are_plain_text(client: httpx.AsyncClient) -> None:
    url = await _create(client, QUERY=QUERY)
    for name in ("phase", "executionduration", "destruction", "quote", "owner"):
        response = await client.get(f"{url}/{name}")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert (await client.get(url + "/executionduration")).text == "600"
    assert (await client.get(url + "/destruction")).text.endswith("Z")
    assert (await client.get(url + "/owner")).text == ""

    assert (await client.post(url + "/executionduration", data={"EXECUTIONDURATION": "30"})).status_code == 303
    assert (await client.get(url + "/executionduration")).text == "30"
    job = await _job(client, url)
    assert job.findtext(_u("executionDuration")) == "30"
    response = await client.post(url + "/destruction", data={"DESTRUCTION": "2031-01-01T00:00:00Z"})
    assert response.status_code == 303
    assert (await client.get(url + "/destruction")).text.startswith("20")


async def test_parameter_names_are_case_insensitive(client: httpx.AsyncClient) -> None:
    url = await _create(client, query=QUERY, phase="RUN", maxrec="2")
    assert (await _wait_final(client, url)).findtext(_u("phase")) == "COMPLETED"
    table = parse_single_table(io.BytesIO((await client.get(url + "/results/result")).content)).to_table()
    assert len(table) == 2


async def test_unknown_jobs_and_children_are_404(client: httpx.AsyncClient) -> None:
    url = await _create(client, QUERY=QUERY)
    for path in ("/tap/async/nope", "/tap/async/nope/phase", url + "/error", url + "/results/result",
                 url + "/results/other", url + "/parameters/x"):
        assert (await client.get(path)).status_code == 404, path


async def test_requests_illegal_in_the_phase_are_403(client: httpx.AsyncClient) -> None:
    url = await _create(client, QUERY=QUERY, PHASE="RUN")
    await _wait_final(client, url)
    assert (await client.post(url + "/parameters", data={"MAXREC": "1"})).status_code == 403
    assert (await client.post(url, data={"MAXREC": "1"})).status_code == 403  # DALI: never at the job URL
    assert (await client.post(url + "/phase", data={"PHASE": "RUN"})).status_code == 403


async def test_bad_values_are_400(client: httpx.AsyncClient) -> None:
    url = await _create(client, QUERY=QUERY)
    assert (await client.post(url + "/phase", data={"PHASE": "FLY"})).status_code == 400
    assert (await client.post(url + "/executionduration", data={"EXECUTIONDURATION": "x"})).status_code == 400
    assert (await client.get(url, params={"WAIT": "soon"})).status_code == 400
    assert (await client.get("/tap/async", params={"LAST": "-2"})).status_code == 400


async def test_a_single_valued_parameter_given_twice_differently_is_an_error(client: httpx.AsyncClient) -> None:
    # DALI 1.1 §3: the same rule as /tap/sync, for the job's parameters and the UWS controls alike
    for name, values in (("MAXREC", ["1", "2"]), ("QUERY", [QUERY, "SELECT 1"]), ("PHASE", ["RUN", "ABORT"]),
                         ("EXECUTIONDURATION", ["10", "20"])):
        response = await client.post("/tap/async", data={"LANG": "ADQL", "QUERY": QUERY, name: values})
        assert response.status_code == 400, name
        assert f"the {name} parameter is given several times" in response.text
    url = await _create(client, QUERY=QUERY, MAXREC=["4", "4"])  # the same value twice is one value
    controls = {"/phase": ("PHASE", ["RUN", "ABORT"]), "/executionduration": ("EXECUTIONDURATION", ["10", "20"]),
                "/destruction": ("DESTRUCTION", ["2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z"]),
                "": ("ACTION", ["DELETE", "delete-all"]), "/parameters": ("RUNID", ["a", "b"])}
    for resource, (name, values) in controls.items():
        response = await client.post(url + resource, data={name: values})
        assert response.status_code == 400, name
        assert f"the {name} parameter is given several times" in response.text
    assert (await client.get(url, params={"WAIT": ["1", "2"]})).status_code == 400
    assert (await client.get(url + "/phase")).text == "PENDING"  # nothing was applied


async def test_post_action_delete_redirects_to_the_list(client: httpx.AsyncClient) -> None:
    url = await _create(client, QUERY=QUERY)
    response = await client.post(url, data={"ACTION": "DELETE"})
    assert (response.status_code, response.headers["location"]) == (303, ASYNC)
    assert (await client.get(url)).status_code == 404


async def test_blocking_wait_with_phase_returns_at_once_when_the_phase_differs(client: httpx.AsyncClient) -> None:
    url = await _create(client, QUERY=QUERY)
    started = time.monotonic()
    job = await _job(client, url, WAIT="30", PHASE="EXECUTING")
    assert job.findtext(_u("phase")) == "PENDING"
    assert time.monotonic() - started < 1


async def test_anonymous_job_list_is_valid_and_empty_even_with_anonymous_jobs(client: httpx.AsyncClient) -> None:
    """Anonymous jobs belong to nobody: listing them would show every anonymous caller's jobs to all."""
    pending = await _create(client, QUERY=QUERY)
    done = await _create(client, QUERY=QUERY, PHASE="RUN")
    await _wait_final(client, done)
    for phase in ("PENDING", "COMPLETED", None):
        params = {"PHASE": phase} if phase else {}
        assert list(assert_valid((await client.get("/tap/async", params=params)).content, UWS)) == []
    assert (await client.get(pending)).status_code == 200  # each is still reached by its URL


async def _dali_error(response: httpx.Response, status: int) -> str:
    """The message of a DALI error document with HTTP ``status``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    info = etree.fromstring(response.content).find(".//{*}INFO[@name='QUERY_STATUS']")
    assert info is not None and info.get("value") == "ERROR"
    return (info.text or "").strip()


@pytest.mark.parametrize("path", ["/tap/async/%00", "/tap/async/%00/phase", "/tap/async/a%00b/parameters",
                                  "/tap/async/" + "x" * 5000])
async def test_job_ids_that_cannot_exist_are_404(client: httpx.AsyncClient, path: str) -> None:
    assert "no job" in await _dali_error(await client.get(path), 404)


@pytest.mark.parametrize("data", [{"QUERY": "SELECT 1\x00"}, {"QUERY": QUERY, "RUNID": "a\x00"},
                                  {"QUERY": QUERY, "X\x00": "1"}, {"QUERY": QUERY, "RUNID": "r" * 2000},
                                  {"QUERY": QUERY, "N" * 300: "1"}])
async def test_nul_characters_and_overlong_names_are_400(client: httpx.AsyncClient, data: dict[str, str]) -> None:
    message = await _dali_error(await client.post("/tap/async", data=data), 400)
    assert "NUL" in message or "longer than" in message
    url = await _create(client, QUERY=QUERY)
    await _dali_error(await client.post(url + "/parameters", data=data), 400)


@pytest.mark.parametrize("params", [{"PHASE": "PENDING\x00"}, {"X\x00": "1"}, {"N" * 300: "1"}])
async def test_job_list_parameters_with_nul_or_overlong_names_are_400(client: httpx.AsyncClient,
                                                                      params: dict[str, str]) -> None:
    await _dali_error(await client.get("/tap/async", params=params), 400)


@pytest.mark.parametrize("params", [{"LAST": "99999999999999999999"}, {"LAST": "0"}, {"AFTER": "yesterday"},
                                    {"AFTER": "9999-12-31T23:59:59-14:00"}, {"AFTER": "0001-01-01T00:00:00+14:00"}])
async def test_out_of_range_list_filters_are_400(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    await _dali_error(await client.get("/tap/async", params=params), 400)


@pytest.mark.parametrize("instant", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
async def test_destruction_outside_the_calendar_is_400(client: httpx.AsyncClient, instant: str) -> None:
    assert "outside the years" in await _dali_error(
        await client.post("/tap/async", data={"QUERY": QUERY, "DESTRUCTION": instant}), 400)
    url = await _create(client, QUERY=QUERY)
    await _dali_error(await client.post(url + "/destruction", data={"DESTRUCTION": instant}), 400)


async def test_wait_must_be_a_number(client: httpx.AsyncClient) -> None:
    url = await _create(client, QUERY=QUERY)
    await _dali_error(await client.get(url, params={"WAIT": "nan"}), 400)


async def test_results_and_uploads_are_private_files(client: httpx.AsyncClient, settings: Settings) -> None:
    upload = (b'<VOTABLE version="1.4"><RESOURCE><TABLE><FIELD name="n" datatype="int"/>'
              b"<DATA><TABLEDATA><TR><TD>1</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>")
    response = await client.post("/tap/async", data={"QUERY": "SELECT n FROM TAP_UPLOAD.t", "UPLOAD": "t,param:f",
                                                      "PHASE": "RUN"}, files={"f": ("t.xml", upload)})
    assert response.status_code == 303
    url = response.headers["location"].removeprefix("http://testserver")
    assert (await _wait_final(client, url)).findtext(_u("phase")) == "COMPLETED"
    job_dir = results_directory(settings) / url.rsplit("/", 1)[1]
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in [job_dir, *job_dir.iterdir()]}
    assert modes == {job_dir.name: 0o700, "result.gz": 0o600, f"upload-{b'f'.hex()}": 0o600}  # gzipped: level 1


@pytest.mark.parametrize(("host", "root"), [
    ("evil.example", "http://testserver"), ("testserver:8080", "http://testserver"), ("testserver", "http://testserver"),
    ("localhost", "http://localhost"), ("a@localhost", "http://testserver"), ("localhost:x", "http://testserver"),
])
async def test_location_names_this_server_whatever_the_host_header(client: httpx.AsyncClient, host: str,
                                                                   root: str) -> None:
    response = await client.post("/tap/async", data={"QUERY": QUERY}, headers={"host": host})
    assert response.status_code == 303
    assert response.headers["location"].removesuffix(response.headers["location"].rsplit("/", 1)[1]) \
        == f"{root}/tap/async/"


async def test_location_uses_the_public_url_when_configured(settings: Settings) -> None:
    app = create_app(replace(settings, public_url="https://tap.example.org/jmmc/"))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.post("/tap/async", data={"QUERY": QUERY}, headers={"host": "evil.example"})
    assert response.headers["location"].startswith("https://tap.example.org/jmmc/tap/async/")


def test_a_live_server_does_not_reflect_a_foreign_host_header(live_server: str) -> None:
    port = httpx.URL(live_server).port
    for host, root in ((f"evil.example:{port}", f"http://127.0.0.1:{port}"),
                       (f"localhost:{port}", f"http://localhost:{port}")):
        response = httpx.post(f"{live_server}/async", data={"QUERY": QUERY}, headers={"host": host})
        assert response.status_code == 303
        assert response.headers["location"].startswith(f"{root}/tap/async/")
        assert httpx.get(response.headers["location"].replace("localhost", "127.0.0.1")).status_code == 200
