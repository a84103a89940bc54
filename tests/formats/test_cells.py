"""Text cells: DALI literals for every datatype, NULL as an empty cell."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from jmmctap.formats.cells import compile_cells, format_timestamp
from jmmctap.results import ResultColumn


@pytest.mark.parametrize(("column", "values", "cells"), [
    (ResultColumn("x", "boolean"), (True, False, None), ["true", "false", ""]),
    (ResultColumn("x", "short"), (1, -2, None), ["1", "-2", ""]),
    (ResultColumn("x", "long"), (2**63 - 1,), [str(2**63 - 1)]),
    (ResultColumn("x", "double"), (0.1, 1e300, math.nan, math.inf, -math.inf, None),
     ["0.1", "1e+300", "NaN", "+Inf", "-Inf", ""]),
    (ResultColumn("x", "float"), (0.10000000149011612, None, math.inf), ["0.1", "", "+Inf"]),
    (ResultColumn("x", "char", "*"), ("a b ", "", None), ["a b ", "", ""]),
    (ResultColumn("x", "char", "*", xtype="timestamp"), (datetime(2020, 1, 2, 3, 4, 5, 600000), None),
     ["2020-01-02T03:04:05.600", ""]),
    (ResultColumn("x", "double", "2", xtype="point"), ([1.0, 2.5], None), ["1 2.5", ""]),
    (ResultColumn("x", "float", "*"), ([0.10000000149011612, math.nan], []), ["0.1 NaN", ""]),
    (ResultColumn("x", "int", "2x2"), ([[1, 2], [3, 4]],), ["1 2 3 4"]),
    (ResultColumn("x", "boolean", "*"), ([True, None, False],), ["T ? F"]),
    (ResultColumn("x", "bit"), (True, False, None), ["1", "0", ""]),
    (ResultColumn("x", "bit", "2x2"), ([[True, False], [False, True]], None), ["1 0 0 1", ""]),
    (ResultColumn("x", "bit", "*"), ([True, True, False], []), ["1 1 0", ""]),
    (ResultColumn("x", "floatComplex"), ([0.10000000149011612, -2.0], None), ["0.1 -2.0", ""]),
    (ResultColumn("x", "doubleComplex", "*"), ([1.0, math.nan, 3.0, 4.0],), ["1.0 NaN 3.0 4.0"]),
    (ResultColumn("x", "int", "*"), ([1, None, 3],), [f"1 {-(2**31)} 3"]),
    (ResultColumn("x", "unsignedByte", "2"), ([None, 1],), ["255 1"]),
    (ResultColumn("x", "int", "1"), (5, None), ["5", ""]),
    (ResultColumn("x", "double", "*"), (2.5,), ["2.5"]),
])
def test_cells(column: ResultColumn, values: tuple[Any, ...], cells: list[str]) -> None:
    assert compile_cells(column)(values) == cells


@pytest.mark.parametrize(("column", "blank"), [
    (ResultColumn("x", "double", "2", xtype="point"), "NaN NaN"),
    (ResultColumn("x", "float", "3"), "NaN NaN NaN"),
    (ResultColumn("x", "boolean", "2"), "? ?"),
    (ResultColumn("x", "int", "2"), ""),
    (ResultColumn("x", "double", "*"), ""),
    (ResultColumn("x", "doubleComplex"), "NaN NaN"),
    (ResultColumn("x", "floatComplex", "2"), "NaN NaN NaN NaN"),
    (ResultColumn("x", "bit", "3"), ""),
])
def test_blank_fixed_arrays(column: ResultColumn, blank: str) -> None:
    assert compile_cells(column, blank_fixed_arrays=True)((None,)) == [blank]


@pytest.mark.parametrize(("value", "text"), [
    (datetime(2020, 1, 2), "2020-01-02T00:00:00"),
    (datetime(2020, 1, 2, 0, 0, 0, 1), "2020-01-02T00:00:00.000001"),
    (datetime(2020, 1, 2, 0, 0, 0, 250000), "2020-01-02T00:00:00.250"),
    (datetime(2020, 1, 2, 1, tzinfo=timezone(timedelta(hours=1))), "2020-01-02T00:00:00"),
    (datetime(2020, 1, 2, tzinfo=UTC), "2020-01-02T00:00:00"),
    (date(2020, 1, 2), "2020-01-02"),
])
def test_timestamps_are_dali_utc_without_zone(value: datetime | date, text: str) -> None:
    assert format_timestamp(value) == text
