"""``/scs/{catalogue}``: Simple Cone Search 1.03 (GET or POST ``RA``, ``DEC``, ``SR`` [, ``VERB``, ``MAXREC``])."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from jmmctap import dali, scs
from jmmctap.context import context_of
from jmmctap.endpoints.caller import caller_of
from jmmctap.endpoints.coding import accepted_coding, document_response
from jmmctap.errors import JmmctapError, NotFoundError
from jmmctap.vosi.conesearch import write_cone_capabilities

__all__ = ["capabilities", "cone_search"]


async def cone_search(request: Request) -> Response:
    """Stream the cone's rows; every error is an SCS error VOTable (HTTP 200 for the client's mistakes)."""
    ctx = context_of(request)
    try:
        principal = await ctx.auth.principal_of(request)
        catalogue = scs.find_catalogue(request.path_params["catalogue"])
        params, _ = await dali.read_parameters(request)
        cone = scs.parse_cone_request(params, ctx.settings)
        label, client = caller_of(request, f"{catalogue.name} {cone}")
        async with scs.open_cone_search(ctx.pools, ctx.tap_schema.schema, ctx.settings, catalogue, cone,
                                        principal=principal, label=label, client=client) as prepared:
            return prepared.response(scs.MEDIA_TYPE, accepted_coding(request))
    except JmmctapError as exc:
        status = 200 if exc.http_status == 400 else exc.http_status  # SCS clients read the body, not the status
        return document_response(request, scs.write_scs_error(exc.message), scs.MEDIA_TYPE, status_code=status,
                                 headers=exc.http_headers)


async def capabilities(request: Request) -> Response:
    """VOSI capabilities of one cone search: the ``cs:ConeSearch`` capability of its registry record."""
    catalogue = scs.find_catalogue(request.path_params["catalogue"])
    cone = context_of(request).registry.cone_capability(catalogue.name)
    if cone is None:
        raise NotFoundError(f"the cone search {catalogue.name} is not described in the registry identity file")
    return document_response(request, write_cone_capabilities(cone), "text/xml")
