"""``/tap/async``: the UWS 1.1 resource tree of TAP async jobs (UWS 1.1 §2.2, TAP 1.1 §2.2).

Endpoints parse and respond; ``jmmctap.uws.service.JobService`` decides. Every write answers 303 with
the absolute, plain job (or list) URL in ``Location``: pyvo reuses the final URL as the job URL and TOPCAT
needs the header.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import BinaryIO

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from jmmctap import dali, formats
from jmmctap.endpoints.vosi import tap_base_url
from jmmctap.errors import NotFoundError, UsageError
from jmmctap.uws.models import RESULT_NAME, ExecutionPhase, JobStateError
from jmmctap.uws.service import JobService
from jmmctap.uws.xml import format_instant, write_job, write_job_list, write_parameters, write_results

__all__ = ["ERROR_MEDIA_TYPE", "XML_MEDIA_TYPE", "routes"]

XML_MEDIA_TYPE = "text/xml"
"""Media type of the UWS documents (taplint accepts text/xml or application/xml)."""
ERROR_MEDIA_TYPE = "application/x-votable+xml"
"""Media type of the DALI error document at ``…/error``."""


def _service(request: Request) -> JobService:
    return request.app.state.uws.service  # type: ignore[no-any-return]


def _owner(request: Request) -> str | None:
    """The authenticated owner; the service has no authentication yet, so every job is anonymous (nil)."""
    return None


def _list_url(request: Request) -> str:
    return f"{tap_base_url(request)}/async"


def _job_url(request: Request, job_id: str | None = None) -> str:
    return f"{_list_url(request)}/{job_id or request.path_params['job_id']}"


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


async def _parameters(request: Request) -> tuple[dict[str, list[str]], dict[str, UploadFile]]:
    """The request's parameters, the body bounded like a TAP query's (uploads included)."""
    return await dali.read_parameters(request, dali.max_body_bytes(_service(request).settings))


def _single(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _files(files: Mapping[str, UploadFile]) -> dict[str, BinaryIO]:
    return {name: upload.file for name, upload in files.items()}


async def job_list(request: Request) -> Response:
    """GET the owner's jobs (filters ``PHASE``, ``AFTER``, ``LAST``); POST creates a job."""
    params, files = await _parameters(request)
    if request.method == "POST":
        try:
            job = await _service(request).create(params, _files(files), _owner(request))
        finally:
            await request.close()  # the spooled upload files
        return _see_other(_job_url(request, job.job_id))
    refs = await _service(request).list_jobs(
        _owner(request), params.get("PHASE", []), _single(params, "AFTER"), _single(params, "LAST")
    )
    return Response(write_job_list(refs, _list_url(request)), media_type=XML_MEDIA_TYPE)


async def job(request: Request) -> Response:
    """GET the job document (blocking with ``WAIT``); DELETE or POST ``ACTION=DELETE`` deletes it."""
    service, job_id = _service(request), request.path_params["job_id"]
    params, _ = await _parameters(request)
    if request.method == "GET":
        wait = _single(params, "WAIT")
        found = (
            await service.wait(job_id, _owner(request), wait, _single(params, "PHASE")) if wait is not None
            else await service.get(job_id, _owner(request))
        )
        return Response(write_job(found, _job_url(request)), media_type=XML_MEDIA_TYPE)
    action = (_single(params, "ACTION") or "").upper()
    if request.method == "POST" and action != "DELETE":
        # DALI 1.1 §2.1: parameters are only accepted at …/parameters
        raise JobStateError("POST to a job accepts only ACTION=DELETE; post parameters to …/parameters")
    await service.delete(job_id, _owner(request))
    return _see_other(_list_url(request))


async def phase(request: Request) -> Response:
    """GET the phase; POST ``PHASE=RUN`` or ``PHASE=ABORT``."""
    service, job_id = _service(request), request.path_params["job_id"]
    if request.method == "GET":
        return PlainTextResponse((await service.get(job_id, _owner(request))).phase.value)
    params, _ = await _parameters(request)
    value = (_single(params, "PHASE") or "").upper()
    if value == "RUN":
        await service.run(job_id, _owner(request))
    elif value == "ABORT":
        await service.abort(job_id, _owner(request))
    else:
        raise UsageError("PHASE must be RUN or ABORT")
    return _see_other(_job_url(request))


async def execution_duration(request: Request) -> Response:
    """GET the execution duration in seconds; POST ``EXECUTIONDURATION=n`` (PENDING jobs)."""
    service, job_id = _service(request), request.path_params["job_id"]
    if request.method == "GET":
        return PlainTextResponse(str((await service.get(job_id, _owner(request))).execution_duration_s))
    params, _ = await _parameters(request)
    await service.set_execution_duration(job_id, _owner(request), _single(params, "EXECUTIONDURATION"))
    return _see_other(_job_url(request))


async def destruction(request: Request) -> Response:
    """GET the destruction instant; POST ``DESTRUCTION=t``."""
    service, job_id = _service(request), request.path_params["job_id"]
    if request.method == "GET":
        return PlainTextResponse(format_instant((await service.get(job_id, _owner(request))).destruction))
    params, _ = await _parameters(request)
    await service.set_destruction(job_id, _owner(request), _single(params, "DESTRUCTION"))
    return _see_other(_job_url(request))


async def quote(request: Request) -> Response:
    """GET the quote (empty when unknown)."""
    found = await _service(request).get(request.path_params["job_id"], _owner(request))
    return PlainTextResponse(format_instant(found.quote))


async def owner(request: Request) -> Response:
    """GET the owner id (empty for anonymous jobs)."""
    found = await _service(request).get(request.path_params["job_id"], _owner(request))
    return PlainTextResponse(found.owner_id or "")


async def error(request: Request) -> Response:
    """GET the DALI error VOTable of a job in phase ERROR (404 for other jobs, DALI §4.2)."""
    found = await _service(request).get(request.path_params["job_id"], _owner(request))
    if found.phase != ExecutionPhase.ERROR or found.error is None:
        raise NotFoundError(f"job {found.job_id} has no error (phase {found.phase.value})")
    return Response(formats.write_error(found.error.message), media_type=ERROR_MEDIA_TYPE)


async def results(request: Request) -> Response:
    """GET the ``<uws:results>`` list (the single ``result`` once COMPLETED)."""
    found = await _service(request).get(request.path_params["job_id"], _owner(request))
    return Response(write_results(found, _job_url(request)), media_type=XML_MEDIA_TYPE)


async def result(request: Request) -> Response:
    """GET the result file of a completed job."""
    service = _service(request)
    found = await service.get(request.path_params["job_id"], _owner(request))
    path = service.files.result_path(found.job_id)
    if request.path_params["name"] != RESULT_NAME or found.result is None or not path.is_file():
        raise NotFoundError(f"job {found.job_id} has no result {request.path_params['name']!r}")
    return FileResponse(path, media_type=found.result.mime_type)


async def parameters(request: Request) -> Response:
    """GET the ``<uws:parameters>`` list; POST adds parameters (and upload files) to a PENDING job."""
    service, job_id = _service(request), request.path_params["job_id"]
    if request.method == "GET":
        found = await service.get(job_id, _owner(request))
        return Response(write_parameters(found, _job_url(request)), media_type=XML_MEDIA_TYPE)
    params, files = await _parameters(request)
    try:
        await service.add_parameters(job_id, _owner(request), params, _files(files))
    finally:
        await request.close()  # the spooled upload files
    return _see_other(_job_url(request))


async def upload_file(request: Request) -> Response:
    """GET an inline upload file of the job (the ``byReference`` parameter of the job document)."""
    service = _service(request)
    found = await service.get(request.path_params["job_id"], _owner(request))
    name = request.path_params["name"]
    path = service.files.upload_path(found.job_id, name)
    if name not in found.upload_files or not path.is_file():
        raise NotFoundError(f"job {found.job_id} has no parameter file {name!r}")
    return FileResponse(path, media_type="application/x-votable+xml")


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
