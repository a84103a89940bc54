"""Whatever the input, translate() gives a translation or an AdqlError, and translations only name allowed objects."""

from __future__ import annotations

import re
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jmmctap.adql import translate
from jmmctap.adql.registry import SQL_FUNCTIONS
from jmmctap.errors import AdqlError
from jmmctap.tapschema import TapSchema
from tests.adql.casefiles import read_cases

SEEDS = [c.fields["ADQL"] for name in ("basics.txt", "strings.txt", "functions.txt", "geometry.txt", "queries.txt")
         for c in read_cases(name)]
TOKENS = [
    "SELECT", "FROM", "WHERE", "TOP 1", "(", ")", ",", "'", '"', ";", "--", "*", "/", "+", "-", "||", "=", "<", "AND",
    "OR", "NOT", "NULL", "IN", "EXISTS", "UNION", "JOIN", "ON", "USING", "AS", "id", "ra", "dec", "pos", "name",
    "adqltest.points", "information_schema.tables", "pg_catalog.pg_roles", "jmmctap.secret", "pg_sleep(1)",
    "version()", "set_config('a', 'b', false)", "query_to_xml('x', true, true, '')", "1e308", "1e-400", "0.5",
    "99999999999999999999", "'x'';--'", "E'\\x'", "$$", "\\", "\x00", "ω", "‘", "POINT(1, 2)", "CIRCLE(ra, dec, 1)",
    "POLYGON(1, 1, 2, 1, 2, 2)", "REGION('Circle ICRS 1 2 3')", "CAST(id AS TEXT)", "COUNT(*)", "ORDER BY 1",
    "GROUP BY id", "OFFSET 1", "WITH t AS (SELECT 1 FROM adqltest.points)", "DISTANCE(ra, dec, 1, 2) < 1",
]
SQL_WORDS = {
    "IN", "EXISTS", "CAST", "COALESCE", "AS", "FROM", "JOIN", "UNION", "ALL", "ON", "WHERE", "AND", "OR", "NOT",
    "BETWEEN", "SELECT", "BY", "HAVING", "THEN", "ELSE", "WHEN", "CASE", "EXCEPT", "INTERSECT", "DISTINCT", "varchar",
    "char", "ESCAPE", "LIKE", "ILIKE", "IS", "NULL", "WITH", "DESC", "LIMIT", "OFFSET", "END",
}
_LITERAL = re.compile(r"E?'(?:[^']|'')*'")
_QUOTED = re.compile(r'"(?:[^"]|"")*"')
_CALL = re.compile(r"([A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)?)\s*\(")
_FORBIDDEN_SQLSTATES = {"42501", "42P01", "42883", "3F000"}
"""Permission denied, undefined table/function/schema: the SQL tried to reach something not allowed."""


def _relations(plan: Any) -> list[tuple[str, str]]:
    found = []
    stack = [plan]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "Relation Name" in node:
                found.append((node.get("Schema", ""), node["Relation Name"]))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def assert_only_allowed_objects(sql: str, tap_schema: TapSchema, tables: frozenset[str],
                                conn: psycopg.Connection[Any]) -> None:
    """Functions: only the emitter's allow-list; relations (from PostgreSQL's own plan): only published tables."""
    for name in _CALL.findall(_QUOTED.sub('"q"', _LITERAL.sub("''", sql))):
        assert name in SQL_FUNCTIONS or name in SQL_WORDS, f"{name}( in {sql}"
    assert tables <= {t.name for t in tap_schema.tables}
    published = {(t.db_schema, t.db_table) for t in tap_schema.tables}
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION READ ONLY")
            plan = conn.execute("EXPLAIN (FORMAT JSON, VERBOSE) " + sql).fetchone()
    except psycopg.Error as exc:  # PostgreSQL refused to plan it: nothing ran, but not for lack of rights
        assert exc.sqlstate not in _FORBIDDEN_SQLSTATES, f"{exc} for {sql}"
        return
    assert plan is not None
    for relation in _relations(plan[0]):
        assert relation in published, f"{relation} read by {sql}"


def check(query: str, tap_schema: TapSchema, conn: psycopg.Connection[Any]) -> None:
    try:
        translation = translate(query, tap_schema)
    except AdqlError as exc:
        assert exc.line is not None and exc.line >= 1 and exc.column is not None and exc.column >= 1
        return
    assert_only_allowed_objects(translation.sql, tap_schema, translation.tables, conn)


@st.composite
def mutated_queries(draw: st.DrawFn) -> str:
    query = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(query)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert":
            query = query[:position] + " " + draw(st.sampled_from(TOKENS)) + " " + query[position:]
        elif action == "delete":
            query = query[:position] + query[position + draw(st.integers(1, 12)):]
        else:
            query = query[:position] + draw(st.text(max_size=3)) + query[position + 1:]
    return query


class _Schema:
    """The fixture TapSchema behind a short repr (hypothesis prints the arguments of failing examples)."""

    def __init__(self, tap_schema: TapSchema) -> None:
        self.tap_schema = tap_schema

    def __repr__(self) -> str:
        return "<adql test TapSchema>"


@pytest.fixture
def schema(adql_tap_schema: TapSchema) -> _Schema:
    return _Schema(adql_tap_schema)


_SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_SETTINGS
@given(st.text(max_size=200))
def test_random_text_gives_a_translation_or_an_adql_error(schema: _Schema, query_conn: psycopg.Connection[Any],
                                                         text: str) -> None:
    check(text, schema.tap_schema, query_conn)


@_SETTINGS
@given(mutated_queries())
def test_mutated_queries_give_a_translation_or_an_adql_error(schema: _Schema, query_conn: psycopg.Connection[Any],
                                                            query: str) -> None:
    check(query, schema.tap_schema, query_conn)


@pytest.mark.parametrize("query", SEEDS)
def test_case_file_translations_name_only_allowed_objects(query: str, adql_tap_schema: TapSchema,
                                                          query_conn: psycopg.Connection[Any]) -> None:
    translation = translate(query, adql_tap_schema)
    assert_only_allowed_objects(translation.sql, adql_tap_schema, translation.tables, query_conn)


def _nested_in(depth: int) -> str:
    query = "SELECT id FROM adqltest.points WHERE id = 1"
    for _ in range(depth):
        query = f"SELECT id FROM adqltest.points WHERE id IN ({query})"
    return query


def _nested_derived(depth: int) -> str:
    query = "SELECT id FROM adqltest.points WHERE id = 1"
    for level in range(depth):
        query = f"SELECT t{level}.id FROM ({query}) AS t{level}"
    return query


@pytest.mark.parametrize("build", [_nested_in, _nested_derived])
def test_fifty_nested_subqueries_run(build: Any, adql_tap_schema: TapSchema,
                                     query_conn: psycopg.Connection[Any]) -> None:
    translation = translate(build(50), adql_tap_schema)
    with query_conn.transaction():
        assert query_conn.execute(translation.sql).fetchall() == [(1,)]


@pytest.mark.parametrize("query", [
    _nested_in(400),
    "SELECT " + "(" * 3000 + "1" + ")" * 3000 + " FROM adqltest.points",
    "SELECT id FROM adqltest.points WHERE " + "NOT " * 3000 + "id = 1",
    "SELECT " + "- " * 3000 + "1 FROM adqltest.points",
])
def test_absurd_nesting_is_a_clean_error_or_a_translation(query: str, adql_tap_schema: TapSchema) -> None:
    try:
        translate(query, adql_tap_schema)
    except AdqlError as exc:
        assert "too complex" in exc.message


def test_long_flat_expressions_translate(adql_tap_schema: TapSchema, query_conn: psycopg.Connection[Any]) -> None:
    terms = " + ".join(["id"] * 3000)
    conditions = " OR ".join(f"id = {i}" for i in range(3000))
    translation = translate(f"SELECT {terms} AS s FROM adqltest.points WHERE {conditions}", adql_tap_schema)
    with query_conn.transaction():
        rows = query_conn.execute(translation.sql + " ORDER BY 1 LIMIT 1").fetchall()
    assert rows == [(3000,)]
