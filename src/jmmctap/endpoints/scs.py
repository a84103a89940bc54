"""``/scs/{catalogue}``: Simple Cone Search 1.03 (GET or POST ``RA``, ``DEC``, ``SR`` [, ``VERB``, ``MAXREC``])."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from jmmctap import scs
from jmmctap.endpoints.caller import caller_of
from jmmctap.errors import JmmctapError
from jmmctap.responses import retry_headers

__all__ = ["cone_search"]


async def cone_search(request: Request) -> Response:
    """Stream the cone's rows; every error is an SCS error VOTable (HTTP 200 for the client's mistakes)."""
    state = request.app.state
    params = dict(request.query_params)
    if request.method == "POST":
        params.update({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
    try:
        catalogue = scs.find_catalogue(request.path_params["catalogue"])
        cone = scs.parse_cone_request(params, state.settings)
        label, client = caller_of(request, f"{catalogue.name} {cone}")
        async with scs.open_cone_search(state.pools, state.tap_schema, state.settings, catalogue, cone,
                                        label=label, client=client) as prepared:
            return prepared.response(scs.MEDIA_TYPE)
    except JmmctapError as exc:
        status = 200 if exc.http_status == 400 else exc.http_status  # SCS clients read the body, not the status
        return Response(scs.write_scs_error(exc.message), status_code=status, media_type=scs.MEDIA_TYPE,
                        headers=retry_headers(exc))
