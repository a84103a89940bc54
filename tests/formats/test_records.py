"""Binary records, byte for byte: one case per datatype and shape, NULLs included (VOTable 1.4 §5.3–5.4, §6)."""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest

from jmmctap.errors import UsageError
from jmmctap.formats.records import array_count, compile_records
from jmmctap.results import ResultColumn

NAN_F8 = struct.pack(">d", math.nan)
NAN_F4 = struct.pack(">f", math.nan)


def _binary2(column: ResultColumn, value: Any) -> bytes:
    return compile_records([column], null_flags=True).encode([(value,)])


def _binary(column: ResultColumn, value: Any) -> bytes:
    return compile_records([column], null_flags=False).encode([(value,)])


CASES = [
    # column, value, record bytes (without the BINARY2 flag byte), is NULL
    (ResultColumn("x", "boolean"), True, b"T", False),
    (ResultColumn("x", "boolean"), False, b"F", False),
    (ResultColumn("x", "boolean"), None, b"?", True),
    (ResultColumn("x", "unsignedByte"), 200, b"\xc8", False),
    (ResultColumn("x", "unsignedByte"), None, b"\xff", True),
    (ResultColumn("x", "short"), -2, b"\xff\xfe", False),
    (ResultColumn("x", "short"), None, b"\x80\x00", True),
    (ResultColumn("x", "int"), 1, b"\x00\x00\x00\x01", False),
    (ResultColumn("x", "int"), None, b"\x80\x00\x00\x00", True),
    (ResultColumn("x", "long"), 2**62 + 1, struct.pack(">q", 2**62 + 1), False),
    (ResultColumn("x", "long"), None, struct.pack(">q", -(2**63)), True),
    (ResultColumn("x", "float"), 1.5, struct.pack(">f", 1.5), False),
    (ResultColumn("x", "float"), math.inf, struct.pack(">f", math.inf), False),
    (ResultColumn("x", "float"), None, NAN_F4, True),
    (ResultColumn("x", "double"), -0.1, struct.pack(">d", -0.1), False),
    (ResultColumn("x", "double"), math.nan, NAN_F8, False),
    (ResultColumn("x", "double"), None, NAN_F8, True),
    (ResultColumn("x", "char", "*"), "abc", b"\x00\x00\x00\x03abc", False),
    (ResultColumn("x", "char", "*"), "", b"\x00\x00\x00\x00", False),
    (ResultColumn("x", "char", "*"), None, b"\x00\x00\x00\x00", True),
    (ResultColumn("x", "char", "*"), "é", b"\x00\x00\x00\x01?", False),
    (ResultColumn("x", "char", "4"), "ab", b"ab\x00\x00", False),
    (ResultColumn("x", "char", "4"), "abcdef", b"abcd", False),
    (ResultColumn("x", "char", "4"), None, b"\x00\x00\x00\x00", True),
    (ResultColumn("x", "char", "3*"), "abcdef", b"\x00\x00\x00\x03abc", False),
    (ResultColumn("x", "char"), "z", b"z", False),
    (ResultColumn("x", "unicodeChar", "*"), "é€", b"\x00\x00\x00\x02\x00\xe9\x20\xac", False),
    (ResultColumn("x", "unicodeChar", "*"), "😀", b"\x00\x00\x00\x02\xd8\x3d\xde\x00", False),
    (ResultColumn("x", "unicodeChar", "*"), None, b"\x00\x00\x00\x00", True),
    (ResultColumn("x", "unicodeChar", "2"), "é", b"\x00\xe9\x00\x00", False),
    (ResultColumn("x", "char", "*", xtype="timestamp"), __import__("datetime").datetime(2020, 1, 2, 3, 4, 5),
     b"\x00\x00\x00\x13" + b"2020-01-02T03:04:05", False),
    (ResultColumn("x", "double", "2", xtype="point"), [1.0, 2.0], struct.pack(">2d", 1.0, 2.0), False),
    (ResultColumn("x", "double", "2", xtype="point"), None, NAN_F8 * 2, True),
    (ResultColumn("x", "float", "3"), [1, 2, 3], struct.pack(">3f", 1, 2, 3), False),
    (ResultColumn("x", "short", "2"), [1, None], struct.pack(">2h", 1, -(2**15)), False),
    (ResultColumn("x", "short", "2"), None, struct.pack(">2h", -(2**15), -(2**15)), True),
    (ResultColumn("x", "double", "2x2"), [[1, 2], [3, 4]], struct.pack(">4d", 1, 2, 3, 4), False),
    (ResultColumn("x", "double", "*", xtype="polygon"), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
     b"\x00\x00\x00\x06" + struct.pack(">6d", 1, 2, 3, 4, 5, 6), False),
    (ResultColumn("x", "double", "*"), [], b"\x00\x00\x00\x00", False),
    (ResultColumn("x", "double", "*"), None, b"\x00\x00\x00\x00", True),
    (ResultColumn("x", "double", "*"), [1.0, None], b"\x00\x00\x00\x02" + struct.pack(">d", 1) + NAN_F8, False),
    (ResultColumn("x", "int", "*"), [7, -1], b"\x00\x00\x00\x02" + struct.pack(">2i", 7, -1), False),
    (ResultColumn("x", "long", "2*"), [1, 2, 3], b"\x00\x00\x00\x02" + struct.pack(">2q", 1, 2), False),
    (ResultColumn("x", "boolean", "3"), [True, False, None], b"TF?", False),
    (ResultColumn("x", "boolean", "*"), [True], b"\x00\x00\x00\x01T", False),
    # bits (VOTable 1.4 §5.3): packed, first bit most significant; a scalar is one byte
    (ResultColumn("x", "bit"), True, b"\x80", False),
    (ResultColumn("x", "bit"), False, b"\x00", False),
    (ResultColumn("x", "bit"), None, b"\x00", True),
    (ResultColumn("x", "bit", "3"), [True, False, True], b"\xa0", False),
    (ResultColumn("x", "bit", "2x5"), [[True] * 5, [False] * 4 + [True]], b"\xf8\x40", False),
    (ResultColumn("x", "bit", "10"), None, b"\x00\x00", True),
    (ResultColumn("x", "bit", "*"), [True] * 9, b"\x00\x00\x00\x09\xff\x80", False),
    (ResultColumn("x", "bit", "*"), [], b"\x00\x00\x00\x00", False),
    (ResultColumn("x", "bit", "*"), None, b"\x00\x00\x00\x00", True),
    # complex numbers: real then imaginary part; a variable array counts complex numbers
    (ResultColumn("x", "floatComplex"), [1.5, -2.0], struct.pack(">2f", 1.5, -2.0), False),
    (ResultColumn("x", "floatComplex"), None, NAN_F4 * 2, True),
    (ResultColumn("x", "doubleComplex"), [0.1, 0.2], struct.pack(">2d", 0.1, 0.2), False),
    (ResultColumn("x", "doubleComplex", "2"), [1.0, 2.0, 3.0, 4.0], struct.pack(">4d", 1, 2, 3, 4), False),
    (ResultColumn("x", "doubleComplex", "*"), [1.0, 2.0, 3.0, 4.0],
     b"\x00\x00\x00\x02" + struct.pack(">4d", 1, 2, 3, 4), False),
    (ResultColumn("x", "doubleComplex", "*"), [1.0, 2.0, 3.0],
     b"\x00\x00\x00\x02" + struct.pack(">3d", 1, 2, 3) + NAN_F8, False),
    (ResultColumn("x", "floatComplex", "*"), None, b"\x00\x00\x00\x00", True),
    # a NULL element of an integer array is the magic value (declared by the FIELD)
    (ResultColumn("x", "int", "*"), [1, None], b"\x00\x00\x00\x02" + struct.pack(">2i", 1, -(2**31)), False),
    (ResultColumn("x", "unsignedByte", "2x2"), [[1, None], [None, 4]], b"\x01\xff\xff\x04", False),
    # arraysize="1" is a scalar (VOTable 1.3 Erratum 3)
    (ResultColumn("x", "int", "1"), 5, b"\x00\x00\x00\x05", False),
    (ResultColumn("x", "char", "1"), "q", b"q", False),
]


@pytest.mark.parametrize(("column", "value", "record", "null"), CASES, ids=lambda x: repr(x)[:40])
def test_binary2_record_is_flags_then_value(column: ResultColumn, value: Any, record: bytes, null: bool) -> None:
    assert _binary2(column, value) == (b"\x80" if null else b"\x00") + record


@pytest.mark.parametrize(("column", "value", "record", "null"), CASES, ids=lambda x: repr(x)[:40])
def test_binary_record_is_the_value_alone(column: ResultColumn, value: Any, record: bytes, null: bool) -> None:
    assert _binary(column, value) == record


def test_null_flags_follow_the_column_order_across_bytes() -> None:
    columns = [ResultColumn(f"c{i}", "short") for i in range(10)]
    row = tuple(None if i in (0, 7, 9) else i for i in range(10))
    record = compile_records(columns, null_flags=True).encode([row])
    assert record[:2] == bytes([0b1000_0001, 0b0100_0000])
    assert len(record) == 2 + 10 * 2


def test_a_batch_mixes_fixed_and_variable_cells_row_by_row() -> None:
    columns = [ResultColumn("n", "short"), ResultColumn("s", "char", "*"), ResultColumn("x", "double", "*"),
               ResultColumn("b", "boolean")]
    rows = [(1, "a", [1.0], True), (None, None, None, None), (3, "ccc", [], False), (4, "", [2.0, 3.0], None)]
    expected = b"".join([
        b"\x00" + struct.pack(">hi", 1, 1) + b"a" + struct.pack(">id", 1, 1.0) + b"T",
        b"\xf0" + struct.pack(">hi", -(2**15), 0) + struct.pack(">i", 0) + b"?",
        b"\x00" + struct.pack(">hi", 3, 3) + b"ccc" + struct.pack(">i", 0) + b"F",
        b"\x10" + struct.pack(">hi", 4, 0) + struct.pack(">idd", 2, 2.0, 3.0) + b"?",
    ])
    assert compile_records(columns, null_flags=True).encode(rows) == expected


def test_nan_and_null_differ_only_by_the_flag() -> None:
    encoder = compile_records([ResultColumn("x", "double")], null_flags=True)
    assert encoder.encode([(math.nan,), (None,)]) == b"\x00" + NAN_F8 + b"\x80" + NAN_F8


def test_non_string_values_of_char_columns_are_written_as_text() -> None:
    from decimal import Decimal
    from uuid import UUID

    encoder = compile_records([ResultColumn("x", "char", "*")], null_flags=False)
    uuid = UUID(int=1)
    assert encoder.encode([(Decimal("1.50"),), (uuid,)]) == b"\x00\x00\x00\x041.50\x00\x00\x00\x24" + str(uuid).encode()


def test_integer_out_of_range_is_an_error() -> None:
    with pytest.raises(OverflowError):
        compile_records([ResultColumn("x", "short")], null_flags=True).encode([(70000,)])


@pytest.mark.parametrize("datatype", ["blob", "string", ""])
def test_unsupported_datatypes_are_refused_up_front(datatype: str) -> None:
    with pytest.raises(UsageError, match=f"datatype '{datatype}'"):
        compile_records([ResultColumn("x", datatype)], null_flags=True)


def test_bad_arraysize_is_refused_up_front() -> None:
    with pytest.raises(UsageError, match="arraysize"):
        compile_records([ResultColumn("x", "double", "two")], null_flags=True)


@pytest.mark.parametrize(("arraysize", "expected"), [("3", (3, None)), ("*", (None, None)), ("5*", (None, 5)),
                                                      ("2x3", (6, None)), ("2x3*", (None, 6)), ("2x*", (None, None))])
def test_array_count(arraysize: str, expected: tuple[int | None, int | None]) -> None:
    assert array_count(arraysize) == expected
