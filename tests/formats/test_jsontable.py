"""JSON: valid JSON in every case, metadata first, rows as arrays, status last, non-finite floats as strings."""

from __future__ import annotations

import json
import math

from jmmctap.errors import ServiceError
from jmmctap.results import ResultColumn
from tests.formats.streams import ALL_COLUMNS, ALL_ROWS, render


async def test_document_has_columns_query_rows_and_status() -> None:
    document = json.loads(await render("json", ALL_COLUMNS, ALL_ROWS, query="SELECT \"x\" FROM t"))
    assert list(document) == ["columns", "query", "data", "status"]
    assert document["columns"][6] == {"name": "d", "datatype": "double", "unit": "deg", "ucd": "pos.eq.ra",
                                      "utype": ALL_COLUMNS[6].utype}
    assert document["query"] == 'SELECT "x" FROM t'
    assert document["status"] == "OK"
    assert len(document["data"]) == len(ALL_ROWS)


async def test_values_keep_their_json_types() -> None:
    first, second, null, last = json.loads(await render("json", ALL_COLUMNS, ALL_ROWS))["data"]
    assert first[:7] == [True, 0, -32767, 2147483647, 9007199254740993, 1.5, 10.123456789012345]
    assert first[10:13] == ["Ré € ✓", "2020-01-02T03:04:05", [10.0, -20.0]]
    assert first[14] == [0.0, "+Inf"]
    assert second[15] == ["NaN", 0.0, 1e30]
    assert null == [None] * len(ALL_COLUMNS)
    assert last[5:7] == ["NaN", "NaN"]


async def test_float_columns_are_short() -> None:
    document = json.loads(await render("json", [ResultColumn("f", "float")], [(0.10000000149011612,), (math.inf,)]))
    assert document["data"] == [[0.1], ["+Inf"]]


async def test_empty_result_is_valid_json() -> None:
    assert json.loads(await render("json", ALL_COLUMNS, []))["data"] == []


async def test_overflow_and_error_are_the_last_keys() -> None:
    overflow = json.loads(await render("json", ALL_COLUMNS, ALL_ROWS, overflowed=True))
    assert overflow["status"] == "OVERFLOW"
    error = json.loads(await render("json", ALL_COLUMNS, ALL_ROWS, batch=3, fail=ServiceError("gone")))
    assert (error["status"], error["message"], len(error["data"])) == ("ERROR", "gone", len(ALL_ROWS))


async def test_decimals_dates_and_uuids_are_written() -> None:
    from datetime import date
    from decimal import Decimal
    from uuid import UUID

    columns = [ResultColumn("n", "long"), ResultColumn("x", "double"), ResultColumn("t", "char", "*"),
               ResultColumn("u", "char", "*")]
    rows = [(Decimal("12"), Decimal("1.25"), date(2020, 1, 2), UUID(int=5)), (None, Decimal("NaN"), None, None)]
    document = json.loads(await render("json", columns, rows))
    assert document["data"] == [[12, 1.25, "2020-01-02", str(UUID(int=5))], [None, "NaN", None, None]]
