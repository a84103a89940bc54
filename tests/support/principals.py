"""Run the real query and job pipeline of an in-process app for a given ``Principal``.

Until the service has accounts, HTTP callers are all anonymous; these helpers drive the very functions
the endpoints call (``tapquery.open_query``, ``scs.open_cone_search``, ``uws.service.JobService``) with an
explicit principal, so the access rules are tested for any caller. Tests with real logins can do the
same over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import io
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import psycopg
from astropy.io.votable import parse_single_table
from astropy.table import Table
from starlette.applications import Starlette

from jmmctap import dali, scs
from jmmctap.acl.principal import read_signer
from jmmctap.auth import Principal
from jmmctap.context import context_of
from jmmctap.db.connect import conninfos
from jmmctap.db.migrate import query_conninfo
from jmmctap.settings import Settings
from jmmctap.tapquery import open_query
from jmmctap.uws.models import FINAL_PHASES, Job

__all__ = ["cone_search_as", "principal_session", "query_as", "run_job_as"]


async def query_as(app: Starlette, principal: Principal, adql: str, *, uploads: Mapping[str, bytes] | None = None,
                   **params: str) -> Table:
    """The rows of a synchronous TAP query run for ``principal`` (``uploads``: inline VOTables by table name).

    ``params`` are further TAP parameters (``MAXREC="5"``). Errors are raised as the endpoint would
    raise them (``jmmctap.errors.UsageError`` for an unknown table...).
    """
    ctx = context_of(app)
    values: dict[str, list[str]] = {"QUERY": [adql], "LANG": ["ADQL"], **{k.upper(): [v] for k, v in params.items()}}
    if uploads:
        values["UPLOAD"] = [f"{name},param:{name}" for name in uploads]
    request = dali.parse_tap_parameters(values, ctx.settings)
    files = {name: io.BytesIO(data) for name, data in (uploads or {}).items()}
    async with open_query(ctx.pools, ctx.tap_schema, ctx.settings, request, principal=principal,
                          timeout_s=ctx.settings.query_timeout_s, files=files) as prepared:
        body = b"".join([chunk async for chunk in prepared.body()])
    return parse_single_table(io.BytesIO(body)).to_table()


async def cone_search_as(app: Starlette, principal: Principal, catalogue: str, ra: float, dec: float,
                         sr: float) -> Table:
    """The rows of a Simple Cone Search on ``/scs/<catalogue>`` run for ``principal``."""
    ctx = context_of(app)
    cone = scs.parse_cone_request({"RA": [str(ra)], "DEC": [str(dec)], "SR": [str(sr)]}, ctx.settings)
    async with scs.open_cone_search(ctx.pools, ctx.tap_schema.schema, ctx.settings, scs.find_catalogue(catalogue),
                                    cone, principal=principal) as prepared:
        body = b"".join([chunk async for chunk in prepared.body()])
    return parse_single_table(io.BytesIO(body)).to_table()


async def run_job_as(app: Starlette, principal: Principal, adql: str, *, uploads: Mapping[str, bytes] | None = None,
                     timeout_s: float = 60, **params: str) -> tuple[Job, Table | None]:
    """Create and run an async job for ``principal`` and wait for its end: the job, and its rows if COMPLETED."""
    service = context_of(app).jobs
    values: dict[str, Sequence[str]] = {"QUERY": [adql], "LANG": ["ADQL"], "PHASE": ["RUN"],
                                        **{k.upper(): [v] for k, v in params.items()}}
    if uploads:
        values["UPLOAD"] = [f"{name},param:{name}" for name in uploads]
    job = await service.create(values, {name: io.BytesIO(data) for name, data in (uploads or {}).items()}, principal)
    async with asyncio.timeout(timeout_s):
        while job.phase not in FINAL_PHASES:
            job = await service.wait(job.job_id, principal, "10", None)
    if job.result is None:
        return job, None
    results = context_of(app).results
    stored = await results.stored(job.job_id)
    assert stored is not None, "a job with a result has its file"
    data = b"".join([chunk async for chunk in results.read(stored)])
    return job, parse_single_table(io.BytesIO(gzip.decompress(data) if stored.gzipped else data)).to_table()


@contextlib.contextmanager
def principal_session(settings: Settings, principal: Principal) -> Iterator[psycopg.Connection[Any]]:
    """A query-role connection inside a READ ONLY transaction for ``principal``, as ``query.start`` opens it.

    For SQL that ADQL cannot express (defence-in-depth tests); the transaction is rolled back at the end.
    """
    infos = conninfos(settings)
    with psycopg.connect(infos.owner) as owner:
        signer, dsn = read_signer(owner), query_conninfo(owner, infos)
    with psycopg.connect(dsn) as conn:
        conn.execute(b"SET TRANSACTION READ ONLY; " + signer.set_local(principal, conn.info.backend_pid).as_bytes(conn))
        try:
            yield conn
        finally:
            conn.rollback()
