"""The ADQL engine's entry point: ADQL text → safe PostgreSQL text and result metadata."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jmmctap.adql.parser import parse
from jmmctap.adql.queries import QueryCompiler
from jmmctap.errors import AdqlError
from jmmctap.results import ResultColumn
from jmmctap.tapschema import Table, TapSchema

__all__ = ["Translation", "translate"]


@dataclass(frozen=True)
class Translation:
    """A translated query.

    ``sql`` is complete PostgreSQL text (names quoted, literals escaped) that reads only the
    ``tables`` (TAP_SCHEMA ``table_name``s) and calls only allow-listed functions; ``columns``
    describe its output columns, in order, for the serializers. TOP is in the SQL as LIMIT;
    MAXREC is the query layer's business.
    """

    adql: str
    sql: str
    columns: tuple[ResultColumn, ...]
    tables: frozenset[str]


def translate(query: str, tap_schema: TapSchema, *, extra_tables: Sequence[Table] = ()) -> Translation:
    """Translate one ADQL 2.1 query for PostgreSQL + pgsphere.

    Parameters
    ----------
    query
        The ADQL text.
    tap_schema
        What is published: the only tables and columns a query can name.
    extra_tables
        Tables of this query only (TAP_UPLOAD.<name>), resolvable like published ones.

    Returns
    -------
    Translation

    Raises
    ------
    AdqlError
        For every query that cannot be parsed, bound or translated, with line and column.
    """
    compiler = QueryCompiler(tap_schema, extra_tables)
    try:
        sql, columns = compiler.main(parse(query))
    except RecursionError:
        raise AdqlError("query too complex: it is nested too deeply", 1, 1) from None
    return Translation(adql=query, sql=sql, columns=tuple(columns), tables=frozenset(compiler.tables))
