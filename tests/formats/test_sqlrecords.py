"""Records built by PostgreSQL (``formats.sqlrecords``) are byte for byte those of the numpy encoder.

The same rows are read twice from a real database: as values (psycopg, then ``records.compile_records``)
and as records PostgreSQL built from the SQL ``SqlRecords`` writes. Edge values are the point: NULLs of
every type, NaN and infinities, extreme integers, non-ASCII and astral characters, timestamps with and
without fractions and time zones, arrays too short, too long, nested, with NULL elements or another
lower bound. Then whole queries through the service: the built path is taken and reads back as TABLEDATA.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from astropy.io.votable import parse_single_table

from jmmctap.formats.records import compile_records
from jmmctap.formats.sqlrecords import SqlRecords, candidate
from jmmctap.results import ResultColumn
from tests.formats.sqltables import result_types, table_connection

pytestmark = pytest.mark.usefixtures("settings")

TABLE = """CREATE TEMPORARY TABLE rec (
    s smallint, i integer, l bigint, il integer, f real, d double precision, fd real, nd numeric, b boolean,
    t text, v varchar(10), ts timestamp, tz timestamptz, dt date,
    fa real[], da double precision[], ia integer[], la bigint[], sa smallint[])"""

ROWS = [
    "(1, 2, 3, 4, 0.1, 0.1, 0.1, 1.234567890123456789012, true, 'abc', 'abcdef', '2020-01-02 03:04:05',"
    " '2020-01-02 03:04:05.123+02', '2020-01-02', '{1.5,2.5,3.5}', '{1,2}', '{1,2,3}', '{1,2}', '{1,2}')",
    "(32767, 2147483647, 9223372036854775807, -2147483647, 'NaN', '-Infinity', 'Infinity', -1e300, false,"
    " 'Ré ü 😀 x', 'çabcdefghi', '1999-12-31 23:59:59.000001', '1970-01-01 00:00:00+00', '0900-03-04',"
    " '{{1,2},{3,4}}', '{1,NULL}', '{1}', '{1,2,3,4}', '[0:1]={7,8}')",
    "(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    " NULL, NULL)",
    "(-32767, -2147483647, -9223372036854775807, 0, -0.0, 5e-324, 1.17549435e-38, 0.1, NULL, '', '', "
    "'2024-02-29 12:00:00.5', '2024-02-29 12:00:00.000250-05:30', '2024-02-29', '{}', '{NULL,NULL}',"
    " '{NULL,2,NULL}', '{}', '{1}')",
]

COLUMNS = [
    ResultColumn("s", "short"), ResultColumn("i", "int"), ResultColumn("l", "long"), ResultColumn("il", "long"),
    ResultColumn("f", "float"), ResultColumn("d", "double"), ResultColumn("fd", "double"),
    ResultColumn("nd", "double"), ResultColumn("b", "boolean"), ResultColumn("t", "char", "*"),
    ResultColumn("v", "char", "4*"), ResultColumn("ts", "char", "*", xtype="timestamp"),
    ResultColumn("tz", "char", "*", xtype="timestamp"), ResultColumn("dt", "char", "10"),
    ResultColumn("fa", "float", "3"), ResultColumn("da", "double", "2"), ResultColumn("ia", "int", "3"),
    ResultColumn("la", "long", "2"), ResultColumn("sa", "short", "2"),
]


@pytest.fixture
def conn(query_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    """A query-role connection holding the test table."""
    with table_connection(query_dsn, TABLE, "rec", ROWS) as connection:
        yield connection


def numpy_records(conn: psycopg.Connection[Any], sql_text: str, columns: list[ResultColumn], flags: bool) -> bytes:
    rows = conn.cursor(binary=True).execute(sql_text.encode()).fetchall()
    return compile_records(columns, null_flags=flags).encode(rows)


def built_records(conn: psycopg.Connection[Any], sql_text: str, columns: list[ResultColumn], flags: bool) -> bytes:
    built = SqlRecords(null_flags=flags).records_sql(sql_text, columns, result_types(conn, sql_text))
    assert built is not None, "every column of the test table has built records"
    return b"".join(row[0] for row in conn.cursor(binary=True).execute(built.encode()).fetchall())


@pytest.mark.parametrize("flags", [True, False], ids=["BINARY2", "BINARY"])
def test_built_records_equal_the_numpy_encoder_byte_for_byte(conn: psycopg.Connection[Any], flags: bool) -> None:
    sql_text = f"SELECT {', '.join(c.name for c in COLUMNS)} FROM rec"
    assert built_records(conn, sql_text, COLUMNS, flags) == numpy_records(conn, sql_text, COLUMNS, flags)


def test_each_column_alone_and_repeated_names_equal_the_numpy_encoder(conn: psycopg.Connection[Any]) -> None:
    for column in COLUMNS:
        sql_text = f"SELECT {column.name}, {column.name} FROM rec ORDER BY i NULLS FIRST"
        pair = [column, column]
        assert built_records(conn, sql_text, pair, True) == numpy_records(conn, sql_text, pair, True), column.name


def test_null_flags_of_more_than_56_columns_are_in_column_order(conn: psycopg.Connection[Any]) -> None:
    columns = [ResultColumn(f"x{k}", "int") for k in range(70)]
    sql_text = "SELECT " + ", ".join(f"CASE WHEN i % {k + 2} = 0 THEN NULL ELSE i END" for k in range(70)) + " FROM rec"
    assert built_records(conn, sql_text, columns, True) == numpy_records(conn, sql_text, columns, True)


@pytest.mark.parametrize(("column", "expression"), [
    (ResultColumn("u", "char", "*"), "gen_random_uuid()"),  # no DALI text here: numpy writes str(uuid)
    (ResultColumn("n", "float"), "nd"),  # numeric to float32 rounds twice in Python
    (ResultColumn("w", "int"), "l"),  # narrowing: numpy decides what overflow means
    (ResultColumn("c", "char", "*"), "'ab'::char(4)"),  # psycopg keeps the padding, ::text drops it
])
def test_types_without_an_exact_sql_form_are_left_to_numpy(conn: psycopg.Connection[Any], column: ResultColumn,
                                                            expression: str) -> None:
    sql_text = f"SELECT {expression} FROM rec"
    assert SqlRecords(null_flags=True).records_sql(sql_text, [column], result_types(conn, sql_text)) is None


def test_declarations_that_never_have_built_records() -> None:
    never = [ResultColumn("v", "double", "*"), ResultColumn("u", "unicodeChar", "*"), ResultColumn("b", "bit"),
             ResultColumn("c", "floatComplex"), ResultColumn("y", "unsignedByte"), ResultColumn("a", "float", "65"),
             ResultColumn("m", "int", "2x2"), ResultColumn("k", "char", "10x*"), ResultColumn("z", "boolean", "3")]
    assert not any(map(candidate, never))


async def test_a_query_through_the_service_reads_the_same_in_binary2_and_tabledata(
        client: httpx.AsyncClient, testdata: None) -> None:
    query = ("SELECT TOP 500 n, x, label, ra, dec, n * 2 AS twice, CAST(n AS SMALLINT) AS small"
             " FROM testdata.numbers ORDER BY n")
    tables = {}
    for fmt in ("votable", "votable/td"):
        response = await client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": fmt})
        assert response.status_code == 200, response.text
        tables[fmt] = parse_single_table(io.BytesIO(response.content)).to_table()
    binary, text = tables["votable"], tables["votable/td"]
    assert len(binary) == len(text) > 0
    for name in text.colnames:
        assert [str(v) for v in binary[name]] == [str(v) for v in text[name]], name
