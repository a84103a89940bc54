"""UWS documents validate against UWS-v1.1.xsd and carry what clients read."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from jmmctap.uws.models import ExecutionPhase, JobError, JobRef, JobResult, Parameter
from jmmctap.uws.xml import format_instant, write_job, write_job_list, write_parameters, write_results
from tests.support.xsd import assert_valid
from tests.uws.conftest import make_job

UWS = "http://www.ivoa.net/xml/UWS/v1.0"
XLINK = "{http://www.w3.org/1999/xlink}href"
NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
URL = "http://host/tap/async/abc"


def _u(name: str) -> str:
    return f"{{{UWS}}}{name}"


def test_instants_are_utc_with_a_trailing_z() -> None:
    paris = timezone(timedelta(hours=2))
    assert format_instant(datetime(2030, 5, 1, 12, 0, 0, 250000, tzinfo=paris)) == "2030-05-01T10:00:00.250Z"
    assert format_instant(None) == ""


def test_pending_job_is_valid_with_nil_fields() -> None:
    job = make_job(run_id="t1", parameters=(Parameter("QUERY", "SELECT 1 < 2"), Parameter("LANG", "ADQL")))
    root = assert_valid(write_job(job, URL), UWS)
    assert root.get("version") == "1.1"
    assert root.findtext(_u("jobId")) == job.job_id
    assert root.findtext(_u("runId")) == "t1"
    assert root.findtext(_u("phase")) == "PENDING"
    assert root.find(_u("ownerId")).get(NIL) == "true"
    assert root.find(_u("startTime")).get(NIL) == "true"
    assert root.findtext(_u("creationTime")).endswith("Z")
    assert root.findtext(_u("executionDuration")) == "60"
    params = root.find(_u("parameters"))
    assert [(p.get("id"), p.text) for p in params] == [("QUERY", "SELECT 1 < 2"), ("LANG", "ADQL")]
    assert len(root.find(_u("results"))) == 0
    assert root.find(_u("errorSummary")) is None


def test_completed_job_lists_its_result() -> None:
    job = replace(make_job(ExecutionPhase.COMPLETED), start_time=datetime.now(UTC), end_time=datetime.now(UTC),
                  result=JobResult("application/x-votable+xml", 1234, 3))
    root = assert_valid(write_job(job, URL), UWS)
    result = root.find(f"{_u('results')}/{_u('result')}")
    assert (result.get("id"), result.get(XLINK), result.get("size"), result.get("mime-type")) == (
        "result", URL + "/results/result", "1234", "application/x-votable+xml")
    assert assert_valid(write_results(job, URL), UWS).find(_u("result")).get("id") == "result"


def test_failed_job_has_an_error_summary() -> None:
    job = replace(make_job(ExecutionPhase.ERROR), error=JobError("no table x", "fatal", True))
    summary = assert_valid(write_job(job, URL), UWS).find(_u("errorSummary"))
    assert (summary.get("type"), summary.get("hasDetail"), summary.findtext(_u("message"))) == (
        "fatal", "true", "no table x")


def test_inline_upload_files_are_parameters_by_reference() -> None:
    job = replace(make_job(parameters=(Parameter("UPLOAD", "t,param:t"),)), upload_files=("t",))
    params = assert_valid(write_parameters(job, URL), UWS)
    assert [(p.get("id"), p.get("byReference"), p.text) for p in params] == [
        ("UPLOAD", None, "t,param:t"), ("t", "true", URL + "/parameters/t")]


def test_client_text_with_control_characters_stays_valid_xml() -> None:
    job = make_job(run_id="a\x00b", parameters=(Parameter("QUERY", "x\x1by"),))
    root = assert_valid(write_job(job, URL), UWS)
    assert root.findtext(_u("runId")) == "a\ufffdb"


def test_job_list_is_valid() -> None:
    refs = [JobRef("j1", ExecutionPhase.QUEUED, "r", None, datetime.now(UTC)),
            JobRef("j2", ExecutionPhase.COMPLETED, None, "alice", datetime.now(UTC))]
    root = assert_valid(write_job_list(refs, "http://host/tap/async"), UWS)
    assert root.get("version") == "1.1"
    assert [(r.get("id"), r.get(XLINK), r.findtext(_u("phase"))) for r in root] == [
        ("j1", "http://host/tap/async/j1", "QUEUED"), ("j2", "http://host/tap/async/j2", "COMPLETED")]
    assert assert_valid(write_job_list([], "http://host/tap/async"), UWS).tag == _u("jobs")
