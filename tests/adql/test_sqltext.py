"""Names and literals reach PostgreSQL intact, whatever they contain."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import sql

from jmmctap.adql.sqltext import float_literal, quote_identifier, string_literal

TRICKY = ["plain", "it's", "two '' quotes", 'a "name"', "back\\slash", "\\'; DROP TABLE x; --", "θ1 Ori C ζ", "$$",
          "E'x'", "line\nbreak", ""]


@pytest.mark.parametrize("name", ["ra", "B-V", 'a"b', "select", "Ünïcode", "x\"; DROP TABLE y; --"])
def test_identifiers_are_quoted_like_psycopg_does(name: str, query_conn: psycopg.Connection[Any]) -> None:
    assert quote_identifier(name) == sql.Identifier(name).as_string(query_conn)


def test_identifier_with_nul_is_refused() -> None:
    with pytest.raises(ValueError):
        quote_identifier("a\x00b")


@pytest.mark.parametrize("conforming", ["on", "off"])
def test_string_literals_mean_their_value_whatever_standard_conforming_strings(
        conforming: str, query_conn: psycopg.Connection[Any]) -> None:
    with query_conn.transaction():
        query_conn.execute(sql.SQL("SET LOCAL standard_conforming_strings = {}").format(sql.Literal(conforming)))
        for value in TRICKY:
            row = query_conn.execute("SELECT " + string_literal(value)).fetchone()
            assert row == (value,)


def test_float_literals_round_trip(query_conn: psycopg.Connection[Any]) -> None:
    values = [0.1, 1 / 3, 1e-300, 1.7976931348623157e308, -2.5, float("inf"), float("-inf")]
    row = query_conn.execute("SELECT " + ", ".join(float_literal(v) for v in values)).fetchone()
    assert row == tuple(values)
