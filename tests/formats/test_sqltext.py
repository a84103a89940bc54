"""CSV, TSV and TABLEDATA lines built by PostgreSQL (``formats.sqltext``) equal the Python writers' lines.

The same rows are read twice from a real database: as values (psycopg, then the writer's own cells) and
as the lines PostgreSQL built from the SQL ``SqlText`` writes. Edge values are the point: NULLs of every
type, strings with every character a format escapes (quotes, separators, line breaks, backslashes,
XML specials, control and non-ASCII characters), timestamps, arrays (short, nested, empty, with NULL or
non-finite elements), and floats of every magnitude on both sides of both spellings' thresholds.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx
import numpy as np
import psycopg
import psycopg.sql
import pytest
from astropy.io.votable import parse_single_table
from astropy.table import Table

from jmmctap.formats import record_builder
from jmmctap.formats import registry as formats
from jmmctap.formats.delimited import CsvWriter, TsvWriter
from jmmctap.formats.sqltext import CSV_LINES, TABLEDATA_ROWS, TSV_LINES, SqlText, candidate
from jmmctap.formats.tabledata import TABLEDATA
from jmmctap.results import ResultColumn, Row
from tests.formats.sqltables import result_types, table_connection

pytestmark = pytest.mark.usefixtures("settings")

TABLE = """CREATE TEMPORARY TABLE txt (
    s smallint, i integer, l bigint, f real, d double precision, fd real, id integer, nd numeric, b boolean,
    t text, v varchar(10), u text, ts timestamp, tz timestamptz, dt date,
    fa real[], fv real[], da double precision[], ia integer[], la bigint[])"""

ROWS = [
    "(1, 2, 3, 0.1, 0.1, 0.1, 7, 1.234567890123456789012, true, 'abc', 'abcdef', 'x', '2020-01-02 03:04:05',"
    " '2020-01-02 03:04:05.123+02', '2020-01-02', '{1.5,2.5,3.5}', '{35,0.25}', '{1,2}', '{1,2,3}', '{1,2}')",
    "(32767, 2147483647, 9223372036854775807, 'NaN', '-Infinity', 'Infinity', -2147483648, -1e300, false,"
    " 'a,b', 'say \"hi\"', 'Ré ü 😀 x', '1999-12-31 23:59:59.000001', '1970-01-01 00:00:00+00', '0900-03-04',"
    " '{{1,2},{3,4}}', '{1e-7,1e7,NaN}', '{1,NULL}', '{NULL,2,NULL}', '{}')",
    "(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    " NULL, NULL, NULL)",
    "(-32767, -2147483647, -9223372036854775807, -0.0, 5e-324, 1.17549435e-38, 0, 0.1, NULL, '', '', '',"
    " '2024-02-29 12:00:00.5', '2024-02-29 12:00:00.000250-05:30', '2024-02-29', '{}', '{-0,Infinity}',"
    " '{NULL,NULL}', '{1}', '{-9223372036854775807}')",
    "(0, 0, 0, 1e-5, 1.5e-5, 123456, 1, 1e20, true, E'line\\nbreak\\rcr', E'tab\\tx', E'back\\\\slash',"
    " NULL, NULL, NULL, '{1e6,1e13,1e-6}', '{}', '{1e15,1e-5,-Infinity}', '{}', NULL)",
    "(1, 1, 1, 1, 1, 1, 1, 1, true, '<&>', E'ctl\\x01x', E'\\uFFFE \\u00e9 & <', NULL, NULL, NULL, NULL, NULL,"
    " NULL, NULL, NULL)",
]

COLUMNS = [
    ResultColumn("s", "short"), ResultColumn("i", "int"), ResultColumn("l", "long"), ResultColumn("f", "float"),
    ResultColumn("d", "double"), ResultColumn("fd", "double"), ResultColumn("id", "double"),
    ResultColumn("nd", "double"), ResultColumn("b", "boolean"), ResultColumn("t", "char", "*"),
    ResultColumn("v", "char", "10"), ResultColumn("u", "unicodeChar", "*"),
    ResultColumn("ts", "char", "*", xtype="timestamp"), ResultColumn("tz", "char", "*", xtype="timestamp"),
    ResultColumn("dt", "char", "10"), ResultColumn("fa", "float", "3"), ResultColumn("fv", "float", "*"),
    ResultColumn("da", "double", "2"), ResultColumn("ia", "int", "3"), ResultColumn("la", "long", "*"),
]

Python = Callable[[Sequence[ResultColumn]], Callable[[Sequence[Row]], bytes]]
DIALECTS: dict[str, tuple[SqlText, Python]] = {
    "CSV": (CSV_LINES, CsvWriter().encoder),
    "TSV": (TSV_LINES, TsvWriter().encoder),
    "TABLEDATA": (TABLEDATA_ROWS, lambda columns: TABLEDATA.start(columns).encode),
}
SEPARATORS = {"CSV": ",", "TSV": "\t", "TABLEDATA": "</TD><TD>"}


@pytest.fixture
def conn(query_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    """A query-role connection holding the test table."""
    with table_connection(query_dsn, TABLE, "txt", ROWS) as connection:
        yield connection


def python_lines(conn: psycopg.Connection[Any], sql_text: str, columns: list[ResultColumn], dialect: str) -> bytes:
    rows = conn.cursor(binary=True).execute(sql_text.encode()).fetchall()
    return DIALECTS[dialect][1](columns)(rows)


def built_lines(conn: psycopg.Connection[Any], sql_text: str, columns: list[ResultColumn], dialect: str) -> bytes:
    built = DIALECTS[dialect][0].records_sql(sql_text, columns, result_types(conn, sql_text))
    assert built is not None, "every column of the test table has built lines"
    return b"".join(row[0] for row in conn.cursor(binary=True).execute(built.encode()).fetchall())


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_built_lines_equal_the_python_writers_byte_for_byte(conn: psycopg.Connection[Any], dialect: str) -> None:
    sql_text = f"SELECT {', '.join(c.name for c in COLUMNS)} FROM txt"
    assert built_lines(conn, sql_text, COLUMNS, dialect) == python_lines(conn, sql_text, COLUMNS, dialect)


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_each_column_alone_equals_the_python_writers(conn: psycopg.Connection[Any], dialect: str) -> None:
    for column in COLUMNS:
        sql_text = f"SELECT {column.name}, {column.name} FROM txt ORDER BY i NULLS FIRST"
        pair = [column, column]
        assert built_lines(conn, sql_text, pair, dialect) == python_lines(conn, sql_text, pair, dialect), column.name


def magnitudes() -> list[float]:
    """Doubles of every decade, and the neighbours of each threshold where one spelling changes."""
    values = [m * 10.0**e for e in range(-40, 40) for m in (1.0, 1.25, 1.2345678901234567, 9.999999, 5.5)]
    for edge in (1e-6, 1e-5, 1e-4, 1e6, 1e13, 1e15, 1e16):
        values += [edge, math.nextafter(edge, 0), math.nextafter(edge, math.inf)]
        single = float(np.float32(edge))
        values += [single, float(np.nextafter(np.float32(edge), np.float32(0))),
                   float(np.nextafter(np.float32(edge), np.float32(np.inf)))]
    values += [0.0, -0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 3.4028234663852886e38,
               float(2**24), float(2**53), 35.0, 1e22, 1.25e22]
    return values + [-v for v in values]


def float_cells_agree(python: str, built: str, single: bool) -> bool:
    """Two spellings of one float cell, element by element: the same text, or (documented in ``sqltext``)
    PostgreSQL's longer digits of an integral value beyond 2**24 (float) or 2**53 (double), read back as
    the same number."""
    parse = np.float32 if single else float
    limit = 2.0**24 if single else 2.0**53
    pairs = list(zip(python.split(" "), built.split(" "), strict=True))
    return all(left == right or (parse(left) == parse(right) and float(left) == int(float(left))
                                 and abs(float(left)) >= limit) for left, right in pairs)


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_floats_of_every_magnitude_are_spelled_as_the_python_writers_spell_them(
        conn: psycopg.Connection[Any], dialect: str) -> None:
    conn.execute("CREATE TEMPORARY TABLE mag (x double precision)")
    conn.execute("INSERT INTO mag SELECT unnest(%s::float8[])", (magnitudes(),))
    single = "CASE WHEN abs(x) < 3.4e38 AND (x = 0 OR abs(x) > 1.2e-38) THEN x::real END"
    sql_text = (f"SELECT x, {single}, ARRAY[x, -x, 1]::float8[], ARRAY[{single}, 35]::real[],"
                f" CASE WHEN abs(x) < 1e15 THEN round(x)::int8 END::float8 FROM mag")
    columns = [ResultColumn("x", "double"), ResultColumn("s", "float"), ResultColumn("a", "double", "3"),
               ResultColumn("sa", "float", "2"), ResultColumn("n", "double")]
    python = python_lines(conn, sql_text, columns, dialect).decode().splitlines()
    built = built_lines(conn, sql_text, columns, dialect).decode().splitlines()
    assert len(python) == len(built) == len(magnitudes())
    separator = SEPARATORS[dialect]
    differing = 0
    for python_line, built_line in zip(python, built, strict=True):
        if python_line == built_line:
            continue
        differing += 1
        cells = [[re.sub("</?T[RD]>", "", c) for c in line.split(separator)] for line in (python_line, built_line)]
        for column, (left, right) in zip(columns, zip(*cells, strict=True), strict=True):
            assert float_cells_agree(left, right, column.datatype == "float"), (column.name, left, right)
    assert differing < len(python) // 10, "only integral values beyond 2**24 or 2**53 may differ"


def test_the_query_role_writes_shortest_floats_whatever_the_database_default(
        owner_conn: psycopg.Connection[Any], query_dsn: str) -> None:
    database = owner_conn.execute("SELECT current_database()").fetchone()
    assert database is not None
    name = psycopg.sql.Identifier(database[0])
    owner_conn.execute(psycopg.sql.SQL("ALTER DATABASE {} SET extra_float_digits = 0").format(name))
    try:
        with psycopg.connect(query_dsn) as connection:
            text = connection.execute("SELECT (0.1::float8 + 0.2::float8)::text, 0.1::float4::text").fetchone()
        assert text == ("0.30000000000000004", "0.1")  # extra_float_digits = 0 would write 0.3
    finally:
        owner_conn.execute(psycopg.sql.SQL("ALTER DATABASE {} RESET extra_float_digits").format(name))


@pytest.mark.parametrize(("column", "expression"), [
    (ResultColumn("u", "char", "*"), "gen_random_uuid()"),  # no DALI text here: Python writes str(uuid)
    (ResultColumn("n", "float"), "nd"),  # numeric to float32 rounds twice in Python
    (ResultColumn("w", "int"), "l"),  # a long declared int: Python writes whatever it holds
    (ResultColumn("c", "char", "*"), "'ab'::char(4)"),  # psycopg keeps the padding, ::text drops it
    (ResultColumn("z", "double", "2"), "ARRAY[nd, nd]"),  # numeric arrays are left to numpy
    (ResultColumn("k", "char", "*"), "ARRAY[t]"),  # an array in a string column
])
def test_types_without_an_exact_sql_form_are_left_to_python(conn: psycopg.Connection[Any], column: ResultColumn,
                                                             expression: str) -> None:
    sql_text = f"SELECT {expression} FROM txt"
    for builder, _ in DIALECTS.values():
        assert builder.records_sql(sql_text, [column], result_types(conn, sql_text)) is None


def test_declarations_that_never_have_built_lines() -> None:
    never = [ResultColumn("b", "bit"), ResultColumn("c", "floatComplex"), ResultColumn("z", "boolean", "3"),
             ResultColumn("x", "doubleComplex", "2")]
    assert not any(map(candidate, never))
    assert all(record_builder(formats.get(name)) is not None for name in ("csv", "tsv", "votable/td"))
    assert record_builder(formats.get("json")) is None


@pytest.mark.parametrize("fmt", ["csv", "votable/td"])
async def test_a_query_through_the_service_reads_the_same_as_binary2(
        client: httpx.AsyncClient, testdata: None, fmt: str) -> None:
    query = ("SELECT TOP 500 n, x, label, ra, dec, n * 2 AS twice, CAST(n AS SMALLINT) AS small"
             " FROM testdata.numbers ORDER BY n")
    tables = {}
    for name in ("votable", fmt):
        response = await client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": name})
        assert response.status_code == 200, response.text
        content = io.BytesIO(response.content)
        if name == "csv":
            tables[name] = Table.read(content.getvalue().decode(), format="ascii.csv")
        else:
            tables[name] = parse_single_table(content).to_table()
    binary, text = tables["votable"], tables[fmt]
    assert len(binary) == len(text) > 0
    for name in binary.colnames:
        assert [str(v) for v in binary[name]] == [str(v) for v in text[name]], name
