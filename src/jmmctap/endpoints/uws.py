"""``/tap/async``: the UWS 1.1 resource tree of TAP async jobs (UWS 1.1 §2.2, TAP 1.1 §2.2).

Endpoints parse and respond; ``jmmctap.uws.service.JobService`` decides. Every write answers 303 with
the absolute, plain job (or list) URL in ``Location``: pyvo reuses the final URL as the job URL and TOPCAT
needs the header.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import BinaryIO

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from jmmctap import dali, formats
from jmmctap.auth import Principal
from jmmctap.context import context_of
from jmmctap.dali import single_value
from jmmctap.endpoints.coding import accepted_coding
from jmmctap.endpoints.vosi import tap_base_url
from jmmctap.errors import NotFoundError, UsageError
from jmmctap.responses import StoredBytes, stored_result_response
from jmmctap.uws.models import RESULT_NAME, ExecutionPhase, Job, JobStateError
from jmmctap.uws.resultstore import ResultStore, StoredFile
from jmmctap.uws.service import JobService
from jmmctap.uws.xml import format_instant, write_job, write_job_list, write_parameters, write_results

__all__ = ["ERROR_MEDIA_TYPE", "XML_MEDIA_TYPE", "routes"]

XML_MEDIA_TYPE = "text/xml"
"""Media type of the UWS documents (taplint accepts text/xml or application/xml)."""
ERROR_MEDIA_TYPE = "application/x-votable+xml"
"""Media type of the DALI error document at ``…/error``."""


def _service(request: Request) -> JobService:
    return context_of(request).jobs


async def _principal(request: Request) -> Principal:
    """Who asks; jobs are created for and visible to this principal only."""
    return await context_of(request).auth.principal_of(request)


async def _job(request: Request) -> Job:
    """The job of the URL, if the caller may see it (404 otherwise)."""
    return await _service(request).get(request.path_params["job_id"], await _principal(request))


def _list_url(request: Request) -> str:
    return f"{tap_base_url(request)}/async"


def _job_url(request: Request, job_id: str | None = None) -> str:
    return f"{_list_url(request)}/{job_id or request.path_params['job_id']}"


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


async def _parameters(request: Request) -> tuple[dict[str, list[str]], dict[str, UploadFile]]:
    """The request's parameters, the body bounded like a TAP query's (uploads included)."""
    return await dali.read_parameters(request, dali.max_body_bytes(_service(request).settings))


def _files(files: Mapping[str, UploadFile]) -> dict[str, BinaryIO]:
    return {name: upload.file for name, upload in files.items()}


async def job_list(request: Request) -> Response:
    """GET the owner's jobs (filters ``PHASE``, ``AFTER``, ``LAST``); POST creates a job."""
    service, principal = _service(request), await _principal(request)
    params, files = await _parameters(request)
    if request.method == "POST":
        try:
            job = await service.create(params, _files(files), principal)
        finally:
            await request.close()  # the spooled upload files
        return _see_other(_job_url(request, job.job_id))
    # PHASE is repeatable here: a filter on several phases (UWS 1.1 §2.2.2.1)
    after, last = single_value(params, "AFTER"), single_value(params, "LAST")
    refs = await service.list_jobs(principal, params.get("PHASE", []), after, last)
    return Response(write_job_list(refs, _list_url(request)), media_type=XML_MEDIA_TYPE)


async def job(request: Request) -> Response:
    """GET the job document (blocking with ``WAIT``); DELETE or POST ``ACTION=DELETE`` deletes it."""
    service, principal, job_id = _service(request), await _principal(request), request.path_params["job_id"]
    params, _ = await _parameters(request)
    if request.method == "GET":
        wait = single_value(params, "WAIT")
        found = (
            await service.wait(job_id, principal, wait, single_value(params, "PHASE")) if wait is not None
            else await service.get(job_id, principal)
        )
        return Response(write_job(found, _job_url(request)), media_type=XML_MEDIA_TYPE)
    action = (single_value(params, "ACTION") or "").upper()
    if request.method == "POST" and action != "DELETE":
        # DALI 1.1 §2.1: parameters are only accepted at …/parameters
        raise JobStateError("POST to a job accepts only ACTION=DELETE; post parameters to …/parameters")
    await service.delete(job_id, principal)
    return _see_other(_list_url(request))


async def phase(request: Request) -> Response:
    """GET the phase; POST ``PHASE=RUN`` or ``PHASE=ABORT``."""
    if request.method == "GET":
        return PlainTextResponse((await _job(request)).phase.value)
    service, principal, job_id = _service(request), await _principal(request), request.path_params["job_id"]
    params, _ = await _parameters(request)
    value = (single_value(params, "PHASE") or "").upper()
    if value == "RUN":
        await service.run(job_id, principal)
    elif value == "ABORT":
        await service.abort(job_id, principal)
    else:
        raise UsageError("PHASE must be RUN or ABORT")
    return _see_other(_job_url(request))


async def execution_duration(request: Request) -> Response:
    """GET the execution duration in seconds; POST ``EXECUTIONDURATION=n`` (PENDING jobs)."""
    if request.method == "GET":
        return PlainTextResponse(str((await _job(request)).execution_duration_s))
    params, _ = await _parameters(request)
    await _service(request).set_execution_duration(
        request.path_params["job_id"], await _principal(request), single_value(params, "EXECUTIONDURATION")
    )
    return _see_other(_job_url(request))


async def destruction(request: Request) -> Response:
    """GET the destruction instant; POST ``DESTRUCTION=t``."""
    if request.method == "GET":
        return PlainTextResponse(format_instant((await _job(request)).destruction))
    params, _ = await _parameters(request)
    await _service(request).set_destruction(
        request.path_params["job_id"], await _principal(request), single_value(params, "DESTRUCTION")
    )
    return _see_other(_job_url(request))


async def quote(request: Request) -> Response:
    """GET the quote (empty when unknown)."""
    return PlainTextResponse(format_instant((await _job(request)).quote))


async def owner(request: Request) -> Response:
    """GET the owner id (empty for anonymous jobs)."""
    return PlainTextResponse((await _job(request)).owner_id or "")


async def error(request: Request) -> Response:
    """GET the DALI error VOTable of a job in phase ERROR (404 for other jobs, DALI §4.2)."""
    found = await _job(request)
    if found.phase != ExecutionPhase.ERROR or found.error is None:
        raise NotFoundError(f"job {found.job_id} has no error (phase {found.phase.value})")
    return Response(formats.write_error(found.error.message), media_type=ERROR_MEDIA_TYPE)


async def results(request: Request) -> Response:
    """GET the ``<uws:results>`` list (the single ``result`` once COMPLETED)."""
    return Response(write_results(await _job(request), _job_url(request)), media_type=XML_MEDIA_TYPE)


def _stored_bytes(store: ResultStore, stored: StoredFile) -> StoredBytes:
    def read(start: int, end: int | None) -> AsyncIterator[bytes]:
        return store.read(stored, start, end)
    return StoredBytes(stored.size, stored.gzipped, stored.etag, read, stored.path)


async def result(request: Request) -> Response:
    """GET the result of a completed job, gzip-encoded when stored so and accepted (``responses``)."""
    found = await _job(request)
    store = context_of(request).results
    wanted = request.path_params["name"] == RESULT_NAME and found.result is not None
    stored = await store.stored(found.job_id) if wanted else None
    if found.result is None or stored is None:
        raise NotFoundError(f"job {found.job_id} has no result {request.path_params['name']!r}")
    return stored_result_response(_stored_bytes(store, stored), media_type=found.result.mime_type,
                                  size=found.result.size, coding=accepted_coding(request, offered=("gzip",)),
                                  request_headers=request.headers)


async def parameters(request: Request) -> Response:
    """GET the ``<uws:parameters>`` list; POST adds parameters (and upload files) to a PENDING job."""
    if request.method == "GET":
        return Response(write_parameters(await _job(request), _job_url(request)), media_type=XML_MEDIA_TYPE)
    params, files = await _parameters(request)
    try:
        await _service(request).add_parameters(
            request.path_params["job_id"], await _principal(request), params, _files(files)
        )
    finally:
        await request.close()  # the spooled upload files
    return _see_other(_job_url(request))


async def upload_file(request: Request) -> Response:
    """GET an inline upload file of the job (the ``byReference`` parameter of the job document)."""
    found = await _job(request)
    name, store = request.path_params["name"], context_of(request).results
    stored = await store.stored(found.job_id, name) if name in found.upload_files else None
    if stored is None:
        raise NotFoundError(f"job {found.job_id} has no parameter file {name!r}")
    return stored_result_response(_stored_bytes(store, stored), media_type="application/x-votable+xml",
                                  size=stored.size, coding=None, request_headers=request.headers)


def routes(prefix: str = "/tap/async") -> list[Route]:
    """The UWS resource tree under ``prefix``."""
    job_path = prefix + "/{job_id}"
    return [
        Route(prefix, job_list, methods=["GET", "POST"]),
        Route(job_path, job, methods=["GET", "POST", "DELETE"]),
        Route(job_path + "/phase", phase, methods=["GET", "POST"]),
        Route(job_path + "/executionduration", execution_duration, methods=["GET", "POST"]),
        Route(job_path + "/destruction", destruction, methods=["GET", "POST"]),
        Route(job_path + "/quote", quote, methods=["GET"]),
        Route(job_path + "/owner", owner, methods=["GET"]),
        Route(job_path + "/error", error, methods=["GET"]),
        Route(job_path + "/results", results, methods=["GET"]),
        Route(job_path + "/results/{name}", result, methods=["GET"]),
        Route(job_path + "/parameters", parameters, methods=["GET", "POST"]),
        Route(job_path + "/parameters/{name}", upload_file, methods=["GET"]),
    ]
