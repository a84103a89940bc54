"""``/badcal/reports``: BadCal reports submitted by signed-in users, moderated by the ``badcal-moderators`` group."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from jmmctap.auth import Principal
from jmmctap.context import context_of
from jmmctap.dali import check_text, limit_body
from jmmctap.endpoints.caller import require_login
from jmmctap.endpoints.urls import service_root
from jmmctap.errors import ForbiddenError, JmmctapError, NotFoundError, UsageError
from jmmctap.submissions import badcal_store
from jmmctap.submissions.badcal_report import parse_report

__all__ = ["list_reports", "moderate_report", "routes", "show_report", "submit_report"]

MAX_REPORT_BYTES = 64 * 1024
"""Largest body of a report or a moderation, bytes."""


async def submit_report(request: Request) -> Response:
    """Submit a BadCal report; it waits for a moderator before anything publishes it.

    ---
    summary: Report a bad calibrator
    description: >-
      A JSON object or a form with name, ra and dec (ICRS, decimal degrees; or position as {"ra", "dec"} or
      [ra, dec]), and optionally obs_date (ISO 8601, UTC), interferometer, insname, baseline, wavelength
      (micrometres), user_name (default the login), user_affiliation, user_comment. The server sets sub_date.
      The report is pending: neither TAP nor /scs/badcal shows it until a moderator accepts it.
    requestBody:
      required: true
      content:
        application/json: {schema: {type: object, required: [name, ra, dec]}}
        application/x-www-form-urlencoded: {schema: {type: object}}
    responses:
      201: {description: "the stored report (JSON, status pending); Location is its URL"}
      400: {description: "a missing, unknown or invalid field (DALI error VOTable)"}
      401: {description: "no credentials"}
    """
    ctx = context_of(request)
    principal = await ctx.auth.principal_of(request)
    login = require_login(principal, "report a bad calibrator")
    report = parse_report(await _read_body(request), default_user_name=login)
    async with ctx.pools.owner.connection() as conn:
        record = await badcal_store.submit_report(conn, report, login)
    location = f"{service_root(request, ctx.settings)}/badcal/reports/{record.report_id}"
    return JSONResponse(record.as_json(), status_code=201, headers={"Location": location})


async def list_reports(request: Request) -> Response:
    """List reports: every report for a moderator, one's own for anyone else.

    ---
    summary: List BadCal reports
    parameters:
      - {name: status, in: query, schema: {type: string, enum: [pending, accepted, rejected]}}
    responses:
      200: {description: "a JSON array of reports, oldest first"}
      401: {description: "no credentials"}
    """
    ctx = context_of(request)
    principal = await ctx.auth.principal_of(request)
    login = require_login(principal, "list BadCal reports")
    async with ctx.pools.owner.connection() as conn:
        records = await badcal_store.list_reports(conn, status=request.query_params.get("status") or None,
                                                  submitted_by=None if _moderates(principal) else login)
    return JSONResponse([r.as_json() for r in records])


async def show_report(request: Request) -> Response:
    """One report, to its submitter or a moderator (404 for anyone else, as if it did not exist).

    ---
    summary: Read a BadCal report
    parameters:
      - {name: report_id, in: path, required: true, schema: {type: integer}}
    responses:
      200: {description: "the report (JSON) with its status and moderation"}
      401: {description: "no credentials"}
      404: {description: "no such report, or not yours"}
    """
    ctx = context_of(request)
    principal = await ctx.auth.principal_of(request)
    login = require_login(principal, "read BadCal reports")
    async with ctx.pools.owner.connection() as conn:
        record = await badcal_store.find_report(conn, request.path_params["report_id"])
    if record.submitted_by != login and not _moderates(principal):
        raise NotFoundError(f"no BadCal report {record.report_id}")
    return JSONResponse(record.as_json())


async def moderate_report(request: Request) -> Response:
    """Accept (publish in badcal.valid_stars and /scs/badcal) or reject a report; moderators only.

    ---
    summary: Accept or reject a BadCal report
    parameters:
      - {name: report_id, in: path, required: true, schema: {type: integer}}
      - {name: decision, in: path, required: true, schema: {type: string, enum: [accept, reject]}}
    requestBody:
      content:
        application/json: {schema: {type: object, properties: {note: {type: string}}}}
        application/x-www-form-urlencoded: {schema: {type: object, properties: {note: {type: string}}}}
    responses:
      200: {description: "the report (JSON) with its new status; accepting an accepted report changes nothing"}
      401: {description: "no credentials"}
      403: {description: "not in the badcal-moderators group"}
      404: {description: "no such report"}
    """
    ctx = context_of(request)
    decision = request.path_params["decision"]
    if decision not in ("accept", "reject"):
        raise NotFoundError(f"a report is moderated by POST to .../accept or .../reject, not .../{decision[:40]}")
    principal = await ctx.auth.principal_of(request)
    login = require_login(principal, "moderate BadCal reports")
    if not _moderates(principal):
        raise ForbiddenError(f"only members of {badcal_store.MODERATORS_GROUP} moderate BadCal reports")
    body = await _read_body(request)
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        raise UsageError("note must be text")
    moderate = badcal_store.accept_report if decision == "accept" else badcal_store.reject_report
    async with ctx.pools.owner.connection() as conn:
        record = await moderate(conn, request.path_params["report_id"], login, note or None)
    return JSONResponse(record.as_json())


def routes(prefix: str = "/badcal/reports") -> list[Route]:
    """The BadCal report routes under ``prefix``."""
    return [
        Route(prefix, submit_report, methods=["POST"]),
        Route(prefix, list_reports, methods=["GET"]),
        Route(prefix + "/{report_id:int}", show_report, methods=["GET"]),
        Route(prefix + "/{report_id:int}/{decision:str}", moderate_report, methods=["POST"]),
    ]


def _moderates(principal: Principal) -> bool:
    return badcal_store.MODERATORS_GROUP in principal.groups


async def _read_body(request: Request) -> dict[str, Any]:
    """A JSON object, or form fields (urlencoded or multipart); nothing for an empty body."""
    limit_body(request, MAX_REPORT_BYTES)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        try:
            form = await request.form(max_files=0, max_fields=32)
        except JmmctapError:
            raise
        except Exception as exc:  # malformed bodies of any kind are the client's problem
            raise UsageError(f"cannot read the form: {exc}") from None
        return {key: check_text(value, key) for key, value in form.items() if isinstance(value, str)}
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError("the body must be a JSON object")
    return data
