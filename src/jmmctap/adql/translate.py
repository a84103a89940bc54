"""The ADQL engine's entry point: ADQL text → safe PostgreSQL text and result metadata."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import anyio.to_thread

from jmmctap.adql.limits import Deadline, Limits
from jmmctap.adql.parser import DEFAULT_LIMITS, parse
from jmmctap.adql.queries import QueryCompiler
from jmmctap.errors import AdqlError
from jmmctap.results import ResultColumn
from jmmctap.tapschema import Table, TapSchema

__all__ = ["Translation", "translate", "translate_in_thread"]


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


def translate(query: str, tap_schema: TapSchema, *, extra_tables: Sequence[Table] = (),
              limits: Limits = DEFAULT_LIMITS) -> Translation:
    """Translate one ADQL 2.1 query for PostgreSQL + pgsphere.

    Parameters
    ----------
    query
        The ADQL text.
    tap_schema
        What is published: the only tables and columns a query can name.
    extra_tables
        Tables of this query only (TAP_UPLOAD.<name>), resolvable like published ones.
    limits
        Size and time budgets; a query beyond one is refused, naming it.

    Returns
    -------
    Translation

    Raises
    ------
    AdqlError
        For every query that cannot be parsed, bound or translated, with line and column.
    """
    deadline = Deadline(limits.time_s)
    compiler = QueryCompiler(tap_schema, extra_tables, deadline)
    try:
        sql, columns = compiler.main(parse(query, limits))
    except RecursionError:
        raise AdqlError("query too complex: it is nested too deeply", 1, 1) from None
    return Translation(adql=query, sql=sql, columns=tuple(columns), tables=frozenset(compiler.tables))


INLINE_MAX_CHARS = 400
"""Longest query translated on the event loop (cones, crossmatches: 100–300 characters)."""


async def translate_in_thread(query: str, tap_schema: TapSchema, limits: Limits, *,
                              extra_tables: Sequence[Table] = ()) -> Translation:
    """``translate`` in a worker thread, so that a large query never stalls the event loop (issue 13).

    A query of at most ``INLINE_MAX_CHARS`` is translated at once instead: the hop to a thread and
    back costs more than the translation of such a query takes (≤ 8 ms even for the most nested).
    Same parameters, result and errors as ``translate``; ``limits`` bounds the thread's work.
    """
    work = functools.partial(translate, query, tap_schema, extra_tables=extra_tables, limits=limits)
    if len(query) <= INLINE_MAX_CHARS:
        return work()
    return await anyio.to_thread.run_sync(work)
