"""The error hierarchy: every public exception in errors.py, each with its status; 401 and 403 rendered."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import httpx
import pytest
from asgi_lifespan import LifespanManager
from lxml import etree
from starlette.requests import Request
from starlette.responses import Response

import jmmctap
from jmmctap import errors
from jmmctap.app import create_app
from jmmctap.errors import AuthenticationError, ForbiddenError, JmmctapError
from jmmctap.settings import Settings

EXPECTED_STATUS = {
    "JmmctapError": 500, "ConfigError": 500, "MissingDependencyError": 500, "UsageError": 400, "AdqlError": 400,
    "QueryError": 400, "IngestError": 400, "OifitsError": 400, "AuthenticationError": 401, "ForbiddenError": 403,
    "JobStateError": 403, "NotFoundError": 404, "ConflictError": 409, "ServiceError": 500, "PayloadTooLargeError": 413,
    "TooManyRequestsError": 429, "ServiceUnavailableError": 503, "MetadataChangedError": 503,
}


def _modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(jmmctap.__path__, "jmmctap.")]


def test_every_public_exception_is_defined_in_errors() -> None:
    elsewhere = set()
    for name in _modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, JmmctapError) and value.__module__ != "jmmctap.errors":
                elsewhere.add(f"{value.__module__}.{value.__qualname__}")
    assert not elsewhere


def test_the_tree_in_the_docstring_names_every_error() -> None:
    assert errors.__doc__ is not None
    assert all(name in errors.__doc__ for name in errors.__all__)


@pytest.mark.parametrize("name", errors.__all__)
def test_each_error_carries_its_http_status(name: str) -> None:
    assert getattr(errors, name).http_status == EXPECTED_STATUS[name]


@pytest.mark.parametrize(("error", "status"), [
    (AuthenticationError("log in first", challenge='Bearer realm="jmmc"'), 401),
    (ForbiddenError("this collection is embargoed"), 403),
])
async def test_401_and_403_are_dali_error_documents(settings: Settings, error: JmmctapError, status: int) -> None:
    async def refuse(request: Request) -> Response:
        raise error

    app = create_app(settings)
    app.add_route("/refused", refuse)
    async with LifespanManager(app), httpx.AsyncClient(  # every request is authenticated first: a context is needed
            transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        response = await client.get("/refused")
    assert response.status_code == status
    status_info = etree.fromstring(response.content).find(".//{*}INFO[@name='QUERY_STATUS']")
    assert status_info is not None and status_info.get("value") == "ERROR"
    assert error.message in (status_info.text or "")
    if status == 401:
        assert response.headers["www-authenticate"] == 'Bearer realm="jmmc"'
    else:
        assert "www-authenticate" not in response.headers
