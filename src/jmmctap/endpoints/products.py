"""``/products/{sha256}/{name}``, ``/previews/{sha256}.png`` and DataLink ``/datalink/links``.

Files go out as Starlette ``FileResponse`` (``Content-Length``, single and multiple ``Range`` requests with
206, ``If-Range``, HEAD) with a strong ``ETag`` (the SHA-256), its digest (RFC 9530 ``Repr-Digest``, and the
older RFC 3230 ``Digest`` that download tools still check) and ``If-None-Match`` answered with 304.
"""

from __future__ import annotations

import base64
import hashlib

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from jmmctap import dali
from jmmctap.context import context_of
from jmmctap.endpoints.caller import caller_of
from jmmctap.endpoints.urls import service_root
from jmmctap.errors import UsageError
from jmmctap.formats.writer import ResultInfo
from jmmctap.products.datalink import DATALINK_STANDARD_ID, find_links, links_writer
from jmmctap.products.files import ServedFile, find_preview, find_product

__all__ = ["links", "preview", "product_file"]


async def product_file(request: Request) -> Response:
    """A stored product file, if PostgreSQL lets the caller have it (401/403 otherwise)."""
    ctx = context_of(request)
    principal = await ctx.auth.principal_of(request)
    sha256, name = request.path_params["sha256"], request.path_params["name"]
    label, client = caller_of(request, sha256)
    served = await find_product(ctx.pools, ctx.products, principal, sha256, name, ctx.settings.embargo_clock,
                                label=label, client=client)
    return _file_response(request, served)


async def preview(request: Request) -> Response:
    """The quick-look PNG of a stored product (same access as the file)."""
    ctx = context_of(request)
    principal = await ctx.auth.principal_of(request)
    sha256 = request.path_params["sha256"]
    label, client = caller_of(request, sha256)
    served = await find_preview(ctx.pools, ctx.products, principal, sha256, ctx.settings.embargo_clock,
                                label=label, client=client)
    return _file_response(request, served)


async def links(request: Request) -> Response:
    """DataLink 1.1 {links} of the ``ID`` parameters (GET or POST, several IDs allowed)."""
    ctx = context_of(request)
    principal = await ctx.auth.principal_of(request)
    params, _ = await dali.read_parameters(request, max_body=1 << 20)
    ids = [value for value in params.get("ID", []) if value]
    if not ids:
        raise UsageError("UsageFault: give the ID of a granule (its obs_publisher_did)")
    label, client = caller_of(request, " ".join(ids))
    stream = await find_links(ctx.pools, principal, ids, ctx.settings.embargo_clock,
                              service_root(request, ctx.settings), label=label, client=client)
    writer = links_writer()
    body = b"".join([chunk async for chunk in writer.write(stream, ResultInfo(standard_id=DATALINK_STANDARD_ID))])
    return Response(body, media_type=writer.media_type)


def _file_response(request: Request, served: ServedFile) -> Response:
    headers = {"ETag": served.etag, "Cache-Control": "no-cache", "Vary": "Authorization"}
    if served.sha256 is not None:
        headers.update(_digests(bytes.fromhex(served.sha256)))
    else:
        headers.update(_digests(hashlib.sha256(served.path.read_bytes()).digest()))  # a PNG of some kB
    if served.etag in (tag.strip() for tag in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers=headers)
    return FileResponse(served.path, media_type=served.media_type, headers=headers,
                        content_disposition_type="inline", filename=served.file_name)


def _digests(digest: bytes) -> dict[str, str]:
    text = base64.b64encode(digest).decode()
    return {"Repr-Digest": f"sha-256=:{text}:", "Digest": f"SHA-256={text}"}
