"""Incremental BINARY/BINARY2 decoding: any split of the base64 text gives the same rows."""

from __future__ import annotations

import base64
import struct

import pytest

from jmmctap.ingest.binary import BinaryDecoder
from jmmctap.ingest.model import FieldSpec, IngestError

FIELDS = [FieldSpec("i", "int"), FieldSpec("s", "char", "*"), FieldSpec("d", "double"),
          FieldSpec("b", "boolean"), FieldSpec("a", "short", "2")]


def _row(flags: int, i: int, s: bytes, d: float, b: bytes, a: tuple[int, int]) -> bytes:
    return bytes([flags]) + struct.pack(">iI", i, len(s)) + s + struct.pack(">d", d) + b + struct.pack(">hh", *a)


STREAM = base64.b64encode(
    _row(0, 1, b"alpha", 1.5, b"T", (1, 2)) + _row(0b01000000, 2, b"", float("nan"), b"?", (3, 4))
    + _row(0b10000000, 0, b"z", 2.5, b"F", (5, 6))
).decode()


@pytest.mark.parametrize("piece", [1, 3, 7, len(STREAM)])
def test_rows_do_not_depend_on_how_the_text_is_split(piece: int) -> None:
    decoder = BinaryDecoder(FIELDS, binary2=True, file="f.vot")
    rows = []
    for start in range(0, len(STREAM), piece):
        rows.extend(decoder.feed(STREAM[start:start + piece] + "\n"))
    decoder.finish()
    assert rows == [[1, "alpha", 1.5, True, [1, 2]], [2, None, None, None, [3, 4]], [None, "z", 2.5, False, [5, 6]]]


def test_bad_base64_names_the_row() -> None:
    decoder = BinaryDecoder(FIELDS, binary2=True, file="f.vot")
    with pytest.raises(IngestError, match=r"f.vot, row 1: invalid base64"):
        decoder.feed("AAA*")


def test_truncated_stream_is_an_error() -> None:
    decoder = BinaryDecoder(FIELDS, binary2=True, file="f.vot")
    decoder.feed(STREAM[:40])
    with pytest.raises(IngestError, match="ends inside a row"):
        decoder.finish()


@pytest.mark.parametrize("n_floats", [1, 2, 5])
def test_nan_floats_become_null_and_infinities_stay(n_floats: int) -> None:
    fields = [FieldSpec(f"x{i}", "double" if i % 2 else "float") for i in range(n_floats)] + [FieldSpec("i", "int")]
    layout = ">" + "".join("d" if i % 2 else "f" for i in range(n_floats)) + "i"
    inf, nan = float("inf"), float("nan")
    rows_in = [[inf] + [-inf] * (n_floats - 1), [1.5] * (n_floats - 1) + [nan], [nan] * n_floats]
    stream = b"".join(bytes([0b00000000]) + struct.pack(layout, *values, 7) for values in rows_in)
    decoder = BinaryDecoder(fields, binary2=True, file="f.vot")
    rows = decoder.feed(base64.b64encode(stream).decode())
    assert rows == [[inf] + [-inf] * (n_floats - 1) + [7], [1.5] * (n_floats - 1) + [None, 7],
                    [None] * n_floats + [7]]


def test_null_flags_of_the_last_columns_of_a_wide_row_and_padding_bits_ignored() -> None:
    fields = [FieldSpec(f"i{i}", "short") for i in range(19)]
    flags = (1 << 23) | (1 << 5) | 0b11111  # columns 0 and 18 of 3 flag bytes, then 5 (set) padding bits
    stream = flags.to_bytes(3, "big") + struct.pack(">19h", *range(19))
    rows = BinaryDecoder(fields, binary2=True, file="f.vot").feed(base64.b64encode(stream).decode())
    assert rows == [[None, *range(1, 18), None]]
