"""The submission routes describe themselves for the OpenAPI document (YAML after ``---`` in their docstrings)."""

from __future__ import annotations

import pytest
from starlette.routing import Route
from starlette.schemas import SchemaGenerator

from jmmctap.endpoints import badcal, tables

ROUTES = [*tables.routes("/tables"), *badcal.routes("/badcal/reports")]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{sorted(r.methods or [])[-1]} {r.path}")
def test_every_submission_route_describes_its_operation(route: Route) -> None:
    operation = SchemaGenerator({}).parse_docstring(route.endpoint)
    assert operation["summary"]
    assert 401 in operation["responses"]  # every submission needs a login
    declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
    assert declared == set(route.param_convertors)
