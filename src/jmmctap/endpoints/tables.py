"""``PUT`` and ``DELETE /tables/{SCHEMA.TABLE}``: tables uploaded and removed by signed-in users (votable2tap)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from jmmctap.context import context_of
from jmmctap.endpoints.caller import require_login
from jmmctap.endpoints.urls import service_root
from jmmctap.submissions.spool import spool_body
from jmmctap.submissions.tables import drop_uploaded_table, ingest_upload, parse_table_upload

__all__ = ["delete_table", "put_table", "routes"]


async def put_table(request: Request) -> Response:
    """Create, replace or append to a table from a VOTable or FITS file, as `jmmctap ingest` does.

    ---
    summary: Upload a table (votable2tap)
    description: >-
      The body is a VOTable (TABLEDATA, BINARY or BINARY2, optionally gzipped) or a FITS binary table, or a
      multipart/form-data form with one file part and the parameters as fields. It is spooled to disk as it
      arrives (JMMCTAP_TABLE_UPLOAD_MAX_BYTES, 413 past it) and loaded in one transaction: a refused file
      leaves the previous table as it was. Your own schema user_<login> is always writable; other schemas
      need a writer grant (jmmctap writer add). A table created in user_<login> is visible to you only until
      granted (jmmctap grant). Errors are DALI error VOTables.
    parameters:
      - {name: table, in: path, required: true, schema: {type: string}, description: "SCHEMA.TABLE (ADQL names)"}
      - {name: mode, in: query, schema: {type: string, enum: [create, replace, append], default: create}}
      - {name: description, in: query, schema: {type: string}, description: "table description in TAP_SCHEMA"}
    requestBody:
      required: true
      content:
        application/x-votable+xml: {schema: {type: string, format: binary}}
        application/fits: {schema: {type: string, format: binary}}
        multipart/form-data: {schema: {type: object, properties: {file: {type: string, format: binary},
                              mode: {type: string}, description: {type: string}}}}
    responses:
      201: {description: "table created: JSON report (table, mode, rows, total_rows, columns, indexed)"}
      200: {description: "table replaced or appended to: the same JSON report"}
      400: {description: "bad name, mode or file (DALI error VOTable naming file, row and column)"}
      401: {description: "no credentials"}
      403: {description: "this user may not write this schema, or the table is a catalogue loader's"}
      404: {description: "append to a table that does not exist"}
      409: {description: "create of a table that exists"}
      413: {description: "the file is larger than JMMCTAP_TABLE_UPLOAD_MAX_BYTES"}
    """
    ctx = context_of(request)
    principal = await ctx.auth.principal_of(request)
    require_login(principal, "upload tables")
    async with spool_body(request, ctx.settings.table_upload_max_bytes) as body:
        upload = parse_table_upload(request.path_params["table"], body.fields, body.filename)
        outcome = await ingest_upload(ctx.settings, principal, upload, body.path)
    await ctx.tap_schema.fresh()  # its WAL position fences the writer's next queries on a replica (db.replicas)
    location = f"{service_root(request, ctx.settings)}/tap/tables/{quote(outcome.report.table_name, safe='.')}"
    return JSONResponse(outcome.as_json(), status_code=201 if outcome.created else 200,
                        headers={"Location": location})


async def delete_table(request: Request) -> Response:
    """Unpublish and drop a table, as `jmmctap drop` does (one transaction).

    ---
    summary: Remove an uploaded table
    parameters:
      - {name: table, in: path, required: true, schema: {type: string}, description: "SCHEMA.TABLE (ADQL names)"}
    responses:
      204: {description: "dropped and unpublished"}
      401: {description: "no credentials"}
      403: {description: "this user may not write this schema, or the table is a catalogue loader's"}
      404: {description: "no such table"}
    """
    ctx = context_of(request)
    principal = await ctx.auth.principal_of(request)
    require_login(principal, "remove tables")
    await drop_uploaded_table(ctx.settings, principal, request.path_params["table"])
    await ctx.tap_schema.fresh()  # as after an upload
    return Response(status_code=204)


def routes(prefix: str = "/tables") -> list[Route]:
    """The upload routes under ``prefix``."""
    return [
        Route(prefix + "/{table:path}", put_table, methods=["PUT"]),
        Route(prefix + "/{table:path}", delete_table, methods=["DELETE"]),
    ]
