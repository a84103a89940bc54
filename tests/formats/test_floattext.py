"""Batch float text: every value reads back exactly, and NULL, NaN and infinities keep their spelling."""

from __future__ import annotations

import numpy as np
import pytest

from jmmctap.formats.cells import compile_cells
from jmmctap.formats.floattext import array_cells, float_texts
from jmmctap.results import ResultColumn


def _spell(value: object) -> str:
    return "NULL" if value is None else f"<{value}>"


def test_doubles_read_back_exactly_in_their_shortest_form() -> None:
    rng = np.random.default_rng(7)
    values = [*(rng.standard_normal(5000) * 10.0 ** rng.integers(-300, 300, 5000)).tolist(), 5e-324, -0.0, 0.1]
    texts = float_texts(values, np.float64, _spell)
    assert [float(t) for t in texts] == values
    assert [_digits(t) for t in texts] == [_digits(repr(v)) for v in values]  # Python's repr is the shortest


def _digits(text: str) -> str:
    """The significant digits of a float's text, whatever its notation."""
    return text.lower().split("e")[0].lstrip("-").replace(".", "").strip("0")


def test_float4_values_read_back_as_the_same_float32_without_double_noise() -> None:
    rng = np.random.default_rng(8)
    stored = (rng.standard_normal(5000) * 10.0 ** rng.integers(-37, 38, 5000)).astype(np.float32)
    texts = float_texts(stored.astype(np.float64).tolist(), np.float32, _spell)  # as psycopg hands float4 over
    assert np.array_equal(np.array(texts, dtype=np.float32), stored)
    assert float_texts([0.10000000149011612], np.float32, _spell) == ["0.1"]


def test_nulls_and_non_finite_values_are_spelled_by_the_caller() -> None:
    values = [1.5, None, float("nan"), float("inf"), float("-inf"), 2.0]
    assert float_texts(values, np.float64, _spell) == ["1.5", "NULL", "<nan>", "<inf>", "<-inf>", "2.0"]
    assert float_texts(values, np.float32, _spell) == ["1.5", "NULL", "<nan>", "<inf>", "<-inf>", "2.0"]
    assert float_texts([], np.float64, _spell) == []


@pytest.mark.parametrize("datatype", ["float", "double"])
def test_float_array_cells_of_a_batch_keep_rows_nulls_and_blanks(datatype: str) -> None:
    convert = compile_cells(ResultColumn("b", datatype, "3"), blank_fixed_arrays=True)
    cells = convert([[1.0, None, 2.5], None, [], [[0.5], [float("inf")]], [float("nan"), -0.0, 1e-7]])
    assert cells == ["1 NaN 2.5", "NaN NaN NaN", "", "0.5 +Inf", "NaN -0 1e-7"]
    assert compile_cells(ResultColumn("s", datatype))([1.0, None, float("nan")]) == ["1.0", "", "NaN"]


def test_whole_batches_of_fixed_arrays_give_the_same_cells_as_the_element_path() -> None:
    rng = np.random.default_rng(9)
    rows = (rng.standard_normal((50, 12)) * 1e3).astype(np.float32).astype(np.float64).tolist()
    whole = array_cells(rows, np.float32)
    assert whole is not None
    assert whole == [" ".join(float_texts(row, np.float32, _spell)) for row in rows]
    assert array_cells([[1.0, 2.0], [3.0]], np.float64) is None  # ragged: the element path writes it
    assert array_cells([[1.0, None]], np.float64) is None
    assert array_cells([[1.0], None], np.float64) is None
    assert array_cells([[float("nan")]], np.float64) is None
