"""``POST /oidb/submit``: OIFITS files submitted by signed-in users become granules of a collection (OiDB)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from jmmctap.context import context_of
from jmmctap.endpoints.caller import require_login
from jmmctap.submissions.oifits_html import render_report_html
from jmmctap.submissions.oifits_submit import submit_oifits
from jmmctap.submissions.oifits_upload import parse_submission, receive_submission

__all__ = ["routes", "submit"]


async def submit(request: Request) -> Response:
    """Validate OIFITS files and store them as granules of a collection, in one transaction.

    ---
    summary: Submit OIFITS files (OiDB)
    description: >-
      A multipart/form-data form with one or more OIFITS files (version 1 or 2) and the fields collection,
      optionally datapi (default: you) and calib_level (1, 2 or 3; default 2); or the same fields and url, a
      hosted file the server fetches (http/https, public addresses only). Each file is validated (errors and
      warnings in the report); one refused file refuses the submission and nothing is stored (422 with the
      report). Accepted files are kept in the product store, their granules get access_url and DataLink, and
      the collection's embargo. A file already in the collection (same SHA-256) is left unchanged. You may
      submit to collections whose groups you are in, or create a new private collection by naming it.
      The report is JSON, or HTML when Accept asks for text/html. Other errors are DALI error VOTables.
    requestBody:
      required: true
      content:
        multipart/form-data: {schema: {type: object, required: [collection], properties: {
                              file: {type: array, items: {type: string, format: binary}},
                              collection: {type: string}, datapi: {type: string},
                              calib_level: {type: integer, enum: [1, 2, 3]}, url: {type: string}}}}
        application/x-www-form-urlencoded: {schema: {type: object, required: [collection, url]}}
    responses:
      201: {description: "stored: the report (collection, datapi, files with status accepted or unchanged,
                          errors, warnings, granules, access_url)"}
      200: {description: "every file was already in the collection: nothing changed (the same report)"}
      400: {description: "no file, no collection, a bad field or url"}
      401: {description: "no credentials"}
      403: {description: "you may not submit to this collection or name this data PI"}
      413: {description: "a file is larger than JMMCTAP_OIFITS_SUBMIT_MAX_BYTES"}
      422: {description: "a file was refused (not FITS, not OIFITS, corrupted): the report says why; nothing
                          stored"}
    """
    ctx = context_of(request)
    principal = await ctx.auth.principal_of(request)
    require_login(principal, "submit OIFITS files")
    async with receive_submission(request, ctx.settings) as received:
        report = await submit_oifits(ctx.settings, principal, parse_submission(received.fields), received.paths)
    status = 422 if report.refused else 201 if report.changed else 200
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(render_report_html(report), status_code=status)
    return JSONResponse(report.as_json(), status_code=status)


def routes(prefix: str = "/oidb") -> list[Route]:
    """The OiDB submission route under ``prefix``."""
    return [Route(prefix + "/submit", submit, methods=["POST"])]
