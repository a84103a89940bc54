"""Table-driven translator tests: ADQL → exact PostgreSQL text, run as the query role, rows checked in Python."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from jmmctap.adql import translate
from jmmctap.errors import AdqlError
from jmmctap.tapschema import TapSchema
from tests.adql.casefiles import Case, oracle_namespace, read_cases, rows_match
from tests.adql.conftest import POINTS

VALID = [c for name in ("basics.txt", "strings.txt", "functions.txt", "geometry.txt", "queries.txt")
         for c in read_cases(name)]
INVALID = read_cases("invalid.txt")


def run_as_query_role(conn: psycopg.Connection[Any], sql: str) -> list[tuple[Any, ...]]:
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        return conn.execute(sql).fetchall()  # test fixture: a few rows


@pytest.mark.parametrize("case", VALID, ids=lambda c: c.id)
def test_case_translates_to_the_expected_sql_and_rows(case: Case, adql_tap_schema: TapSchema,
                                                      query_conn: psycopg.Connection[Any]) -> None:
    translation = translate(case.fields["ADQL"], adql_tap_schema)
    assert translation.sql == case.fields["SQL"]
    expected = [tuple(r) for r in eval(case.fields["ROWS"], oracle_namespace(POINTS))]  # the case file's Python oracle
    actual = run_as_query_role(query_conn, translation.sql)
    assert expected, "a case must check some rows"
    assert rows_match(expected, actual, ordered=case.fields.get("ORDERED") == "yes"), (expected, actual)
    assert len(translation.columns) == len(actual[0])


@pytest.mark.parametrize("case", INVALID, ids=lambda c: c.id)
def test_invalid_query_is_an_adql_error_at_the_right_place(case: Case, adql_tap_schema: TapSchema) -> None:
    with pytest.raises(AdqlError) as info:
        translate(case.fields["ADQL"], adql_tap_schema)
    assert case.fields["ERROR"] in info.value.message
    assert f"{info.value.line},{info.value.column}" == case.fields["AT"]
