"""``/scs/{catalogue}``: Simple Cone Search 1.03 (GET or POST ``RA``, ``DEC``, ``SR`` [, ``VERB``, ``MAXREC``])."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from jmmctap import dali, scs
from jmmctap.context import context_of
from jmmctap.errors import JmmctapError
from jmmctap.responses import CleanStreamingResponse

__all__ = ["cone_search"]


async def cone_search(request: Request) -> Response:
    """Stream the cone's rows; every error is an SCS error VOTable (HTTP 200 for the client's mistakes)."""
    ctx = context_of(request)
    try:
        principal = await ctx.auth.principal_of(request)
        catalogue = scs.find_catalogue(request.path_params["catalogue"])
        params, _ = await dali.read_parameters(request)
        cone = scs.parse_cone_request(params, ctx.settings)
        prepared = await scs.start_cone_search(
            ctx.pools, ctx.tap_schema.schema, ctx.settings, catalogue, cone, principal=principal
        )
    except JmmctapError as exc:
        status = 200 if exc.http_status == 400 else exc.http_status  # SCS clients read the body, not the status
        return Response(scs.write_scs_error(exc.message), status_code=status, media_type=scs.MEDIA_TYPE,
                        headers=dict(exc.http_headers))
    return CleanStreamingResponse(prepared.body(), media_type=scs.MEDIA_TYPE, cleanup=prepared.stream.close)
