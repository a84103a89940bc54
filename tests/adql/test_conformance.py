"""The public conformance corpus through ``translate()``, run directly on PostgreSQL as the query role.

Expected rows are compared with the corpus runner's own comparison (``compare_success``), loaded
from the shared folder; the tables live in ``adql_conf`` (the runner's ``--schema-map`` rewrite).
"""

from __future__ import annotations

import importlib.util
from types import ModuleType
from typing import Any

import psycopg
import pytest
import yaml

from jmmctap.adql import translate
from jmmctap.errors import AdqlError
from jmmctap.tapschema import TapSchema
from tests.adql.conftest import CONFORMANCE_SCHEMA
from tests.support.shared import SHARED, missing_reason

CORPUS = SHARED / "conformance"
SCHEMA_MAP = [("conf", CONFORMANCE_SCHEMA)]
if not (CORPUS / "run_conformance.py").exists():  # the runner and its cases are read while collecting
    pytest.skip(missing_reason(CORPUS / "run_conformance.py"), allow_module_level=True)


def _runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_conformance", CORPUS / "run_conformance.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RUNNER = _runner()
CASES = [c for c in yaml.safe_load((CORPUS / "cases-public.yaml").read_text())["cases"]
         if not c.get("params")]  # LANG/REQUEST parameters are the TAP layer's business


def _run(conn: psycopg.Connection[Any], sql: str, maxrec: int | None) -> tuple[list[list[Any]], bool]:
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        with conn.cursor(name="conformance") as cursor:
            cursor.execute(sql)
            rows = [list(r) for r in (cursor.fetchmany(maxrec + 1) if maxrec is not None else cursor.fetchall())]
    if maxrec is not None and len(rows) > maxrec:
        return rows[:maxrec], True
    return rows, False


def _check(case: dict[str, Any], adql: str, tap_schema: TapSchema, conn: psycopg.Connection[Any]) -> str | None:
    expected = RUNNER.map_expected_values(RUNNER.normalize_expected(case["expected"]), SCHEMA_MAP)
    alternatives = expected.get("any_of") or [expected]
    try:
        translation = translate(adql, tap_schema)
    except AdqlError as exc:
        assert exc.line is not None and exc.column is not None, "an AdqlError without position"
        if any(RUNNER.normalize_expected(a).get("error") for a in alternatives):
            return None
        return f"translation failed: {exc}"
    rows, overflow = _run(conn, translation.sql, case.get("maxrec"))
    fields = [{"name": c.name, "datatype": c.datatype, "arraysize": c.arraysize, "xtype": c.xtype,
               "unit": c.unit, "ucd": c.ucd} for c in translation.columns]
    statuses = ["OK"] + (["OVERFLOW"] if overflow else [])
    reasons = []
    for alternative in alternatives:
        alternative = RUNNER.normalize_expected(alternative)
        if alternative.get("error"):
            reasons.append("translated although an error is expected")
            continue
        reason = RUNNER.compare_success(alternative, fields, rows, statuses)
        if reason is None:
            return None
        reasons.append(reason)
    return " | ".join(reasons)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_public_conformance_case(case: dict[str, Any], adql_tap_schema: TapSchema,
                                 query_conn: psycopg.Connection[Any]) -> None:
    adql = RUNNER.apply_schema_map(case["adql"], SCHEMA_MAP)
    failure = _check(case, adql, adql_tap_schema, query_conn)
    assert failure is None, failure


@pytest.mark.parametrize("case", [c for c in CASES if c["category"] in ("security", "errors")],
                         ids=lambda c: c["id"])
def test_security_and_error_cases_are_adql_errors_with_a_position(case: dict[str, Any],
                                                                  adql_tap_schema: TapSchema) -> None:
    adql = RUNNER.apply_schema_map(case["adql"], SCHEMA_MAP)
    if not case["expected"].get("error"):
        translate(adql, adql_tap_schema)  # e.g. the quote-doubling literal: a valid query
        return
    with pytest.raises(AdqlError) as info:
        translate(adql, adql_tap_schema)
    assert info.value.line is not None and info.value.line >= 1
    assert info.value.column is not None and info.value.column >= 1
