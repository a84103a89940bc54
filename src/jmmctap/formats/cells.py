"""Column values as text cells, shared by TABLEDATA, CSV, TSV and HTML (DALI 1.1 §3.3 literals).

One converter per column turns a whole column of a batch into strings at once: ``''`` for NULL,
``true``/``false`` for booleans, the shortest round-trip decimal for numbers (single precision for
``float`` columns), ``NaN``/``+Inf``/``-Inf`` for non-finite values, space-separated numbers for
arrays and DALI timestamps (``YYYY-MM-DDThh:mm:ss[.SSS]``, UTC, no zone) for ``xtype="timestamp"``.
A NULL element of an integer array is the type's magic value (:data:`INTEGER_NULLS`).
``bit`` values are ``1``/``0`` (space-separated in arrays, which both astropy and STIL read); a
complex number is its real and imaginary parts separated by a space, like a 2-element array.
Escaping belongs to each format.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from jmmctap.formats.floattext import array_cells, element_texts, float_texts
from jmmctap.results import ResultColumn

__all__ = [
    "COMPLEX",
    "INTEGER_NULLS",
    "CellConverter",
    "array_null",
    "blank_array",
    "compile_cells",
    "flatten",
    "format_float",
    "format_timestamp",
    "has_items",
    "is_array",
    "to_text",
]

CellConverter = Callable[[Sequence[Any]], list[str]]

_INTEGERS = frozenset({"unsignedByte", "short", "int", "long"})
INTEGER_NULLS: dict[str, int] = {"unsignedByte": 255, "short": -(2**15), "int": -(2**31), "long": -(2**63)}
"""The magic value written for a NULL integer where no other mark exists: a NULL element of an integer
array (every format but JSON), a NULL scalar in BINARY; VOTable FIELDs declare it as ``<VALUES null>``."""
COMPLEX = frozenset({"floatComplex", "doubleComplex"})
"""Datatypes whose every value is a pair of numbers (real, imaginary): a list even for a scalar."""
_NONFINITE = {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}


def is_array(column: ResultColumn) -> bool:
    """Whether the cells of ``column`` are arrays (strings are ``char`` arrays but single cells here).

    ``arraysize="1"`` is a scalar (VOTable 1.3 Erratum 3).
    """
    return column.arraysize not in (None, "1") and column.datatype not in ("char", "unicodeChar")


def array_null(column: ResultColumn) -> int | None:
    """The magic value that VOTable FIELDs declare for NULL elements of ``column``'s arrays, or None.

    Integer arrays only, and not ``unsignedByte`` ones: 255 is an ordinary byte value there, far more
    common than a NULL element (which is still written 255).
    """
    if not is_array(column) or column.datatype == "unsignedByte":
        return None
    return INTEGER_NULLS.get(column.datatype)


def has_items(column: ResultColumn) -> bool:
    """Whether the values of ``column`` are lists: arrays, and complex numbers even when scalar."""
    return is_array(column) or column.datatype in COMPLEX


def format_timestamp(value: datetime | date) -> str:
    """A DALI timestamp: UTC without zone, milliseconds or microseconds only when present."""
    if not isinstance(value, datetime):
        return value.isoformat()
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    if value.microsecond == 0:
        return value.isoformat(timespec="seconds")
    return value.isoformat(timespec="milliseconds" if value.microsecond % 1000 == 0 else "microseconds")


def format_float(value: float) -> str:
    """A double as its shortest round-trip decimal, non-finite values as VOTable spells them."""
    text = str(float(value))
    return _NONFINITE.get(text, text)


def to_text(value: Any) -> str:
    """Any non-NULL value of a string column as text (dates as DALI timestamps)."""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime | date):
        return format_timestamp(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def compile_cells(column: ResultColumn, *, blank_fixed_arrays: bool = False) -> CellConverter:
    """The converter of one column's values to text cells.

    With ``blank_fixed_arrays``, a NULL fixed-size float or boolean array is written as its blank
    elements (``NaN NaN``, ``? ?``) instead of an empty cell: votlint 3.4.7 rejects empty cells of
    fixed-size arrays (and of point/circle/interval) although VOTable 1.3 made them NULL.
    """
    if has_items(column):
        element = _element_formatter(column.datatype)
        null = blank_array(column) if blank_fixed_arrays else ""
        if column.datatype in _FLOAT_DTYPES:
            return _float_arrays(_FLOAT_DTYPES[column.datatype], element, null)
        return lambda values: [null if v is None else " ".join(map(element, flatten(v))) for v in values]
    if column.datatype == "boolean":
        return _booleans
    if column.datatype == "bit":
        return _bits
    if column.datatype in _INTEGERS:
        return _integers
    if column.datatype == "double":
        return _doubles
    if column.datatype == "float":
        return _floats
    return _strings


def blank_array(column: ResultColumn) -> str:
    """A NULL fixed-size float or boolean array as its blank elements (``NaN NaN``), else ``''``."""
    dims = (column.arraysize or "1").split("x")
    if dims[-1].endswith("*") or column.datatype not in ("float", "double", "boolean", *COMPLEX):
        return ""
    count = math.prod(int(d) for d in dims) * (2 if column.datatype in COMPLEX else 1)
    return " ".join(["?" if column.datatype == "boolean" else "NaN"] * count)


def _booleans(values: Sequence[Any]) -> list[str]:
    return ["" if v is None else ("true" if v else "false") for v in values]


def _bits(values: Sequence[Any]) -> list[str]:
    return ["" if v is None else ("1" if v else "0") for v in values]


def _integers(values: Sequence[Any]) -> list[str]:
    if None in values:
        return ["" if v is None else str(int(v)) for v in values]
    return list(map(str, values))


def _doubles(values: Sequence[Any]) -> list[str]:
    try:
        return float_texts(values, np.float64, _scalar_text)
    except (TypeError, ValueError):  # not numbers (should not happen): one at a time
        return [_scalar_text(v) for v in values]


def _floats(values: Sequence[Any]) -> list[str]:
    # float4 values reach Python as doubles (0.1 → 0.10000000149011612): written as float32, they print as 0.1
    try:
        return float_texts(values, np.float32, _scalar_text)
    except (TypeError, ValueError):
        return [_scalar_text(v) for v in values]


def _scalar_text(value: Any) -> str:
    return "" if value is None else format_float(value)


def _strings(values: Sequence[Any]) -> list[str]:
    try:
        "".join(values)
    except TypeError:
        return ["" if v is None else to_text(v) for v in values]
    return list(values)


def _float_arrays(dtype: type[np.floating[Any]], element: Callable[[Any], str], null: str) -> CellConverter:
    """Float arrays of a whole batch formatted in one call (``floattext``), then cut into cells."""

    def convert(values: Sequence[Any]) -> list[str]:
        whole = array_cells(values, dtype)
        if whole is not None:
            return whole
        flat: list[Any] = []
        counts: list[int] = []
        for value in values:
            if value is None:
                counts.append(-1)
            else:
                items = flatten(value)
                flat.extend(items)
                counts.append(len(items))
        try:
            texts = float_texts(flat, dtype, element)
        except (TypeError, ValueError):  # an element numpy cannot read as a number: one at a time
            texts = list(map(element, flat))
        texts = element_texts(texts)
        cells, at = [], 0
        for count in counts:
            if count < 0:
                cells.append(null)
            else:
                cells.append(" ".join(texts[at:at + count]))
                at += count
        return cells

    return convert


_FLOAT_DTYPES: dict[str, type[np.floating[Any]]] = {"float": np.float32, "double": np.float64}
"""Element types of the float arrays formatted a batch at a time (``floattext``)."""


def _element_formatter(datatype: str) -> Callable[[Any], str]:
    if datatype == "boolean":
        return lambda v: "?" if v is None else ("T" if v else "F")
    if datatype == "bit":
        return lambda v: "1" if v else "0"  # an element of a bit array cannot be NULL
    if datatype in _INTEGERS:
        null = str(INTEGER_NULLS[datatype])
        return lambda v: null if v is None else str(int(v))
    if datatype in ("float", "floatComplex"):
        return lambda v: "NaN" if v is None else (str(np.float32(v)) if math.isfinite(v) else format_float(v))
    return lambda v: "NaN" if v is None else format_float(v)


def flatten(value: Any) -> list[Any]:
    """The items of an array value in order (nested lists flattened, as TABLEDATA writes them)."""
    if not isinstance(value, list | tuple):
        return [value]  # a scalar where the metadata says array: still written, as one element
    if value and isinstance(value[0], list | tuple):
        return [x for part in value for x in flatten(part)]
    return list(value)
