"""PostgreSQL text of names and literals: the only places user-controlled text becomes SQL."""

from __future__ import annotations

import math

__all__ = ["float_literal", "quote_identifier", "string_literal"]


def quote_identifier(name: str) -> str:
    """A PostgreSQL delimited identifier (same rule as ``psycopg.sql.Identifier``): ``a"b`` → ``"a""b"``."""
    if "\x00" in name:
        raise ValueError("identifier contains a NUL character")
    return '"' + name.replace('"', '""') + '"'


def string_literal(value: str) -> str:
    """A PostgreSQL string constant that means ``value`` whatever ``standard_conforming_strings`` is.

    Quotes are doubled; a value with backslashes becomes an ``E'...'`` constant with doubled
    backslashes, which both settings read the same way.
    """
    if "\x00" in value:
        raise ValueError("string contains a NUL character")
    quoted = value.replace("'", "''")
    if "\\" in value:
        return "E'" + quoted.replace("\\", "\\\\") + "'"
    return "'" + quoted + "'"


def float_literal(value: float) -> str:
    """A double precision constant computed by the translator (repr round-trips exactly)."""
    if math.isnan(value) or math.isinf(value):
        return f"'{value!r}'::float8".replace("inf", "Infinity").replace("nan", "NaN")
    return f"{value!r}::float8"
