"""Cell conversion: TABLEDATA text and BINARY items → values PostgreSQL's COPY accepts.

NULL rules (VOTable 1.5 §5.5): an empty TD, the ``VALUES/@null`` magic value, NaN in a
float/double scalar, ``?``/blank booleans, empty strings, and BINARY2 null flags. NaN inside
arrays is kept (it is a value of the array, as astropy keeps it).

Geometries (DALI numbers, or for ``char`` columns DALI text or STC-S) must lie on the sky: longitudes
within [-360, 360] degrees (a vertex near 0 may be written negative), latitudes within [-90, 90],
a radius within [0, 180]; anything else is refused with its row and column.
"""

from __future__ import annotations

import array
import math
import re
import sys
from collections.abc import Callable
from typing import Any

from jmmctap.ingest.model import FieldSpec

__all__ = [
    "NULL_FLOAT_TEXTS",
    "Converter",
    "binary_converter",
    "format_geometry",
    "is_plain_float",
    "stripped",
    "text_converter",
]

Converter = Callable[[object], object]
"""Turns one raw cell (a non-empty str for TABLEDATA, a struct item for BINARY) into a COPY value."""

_INTEGERS = frozenset({"unsignedByte", "short", "int", "long"})
_FLOATS = frozenset({"float", "double"})
_TRUE = frozenset({"t", "1", "true"})
_FALSE = frozenset({"f", "0", "false"})
NULL_FLOAT_TEXTS = frozenset({"NaN", "nan", "NAN", "-NaN", "+NaN", "null", "NULL", "-"})
"""Float cells read as NULL: NaN, and the ``null`` and ``-`` texts some services (IRSA) write."""
_NAN = NULL_FLOAT_TEXTS
_SEPARATORS = re.compile(r"[\s,]+")
_ARRAY_CODES = {"unsignedByte": "B", "short": "h", "int": "i", "long": "q", "float": "f", "double": "d",
                "floatComplex": "f", "doubleComplex": "d"}


class CellError(ValueError):
    """A cell that does not fit its declared type (the reader adds file, row and column)."""


def stripped(value: object) -> str | None:
    """A cell read as text without surrounding blanks: None for NULL and for a blank cell."""
    return (str(value).strip() or None) if value is not None else None


def is_plain_float(field: FieldSpec) -> bool:
    """A float/double scalar without VALUES null: its cells only need the NULL_FLOAT_TEXTS check."""
    from jmmctap.ingest.columns import is_array, pg_type

    return field.datatype in _FLOATS and field.null is None and not is_array(field) and pg_type(field) in (
        "real", "double precision")


def text_converter(field: FieldSpec) -> Converter | None:
    """Converter for a non-empty TABLEDATA cell, or None when PostgreSQL parses the text as it is."""
    from jmmctap.ingest.columns import is_array, pg_type

    kind = pg_type(field)
    if kind in ("spoint", "scircle", "spoly"):
        return lambda text: format_geometry(kind, _geometry_numbers(kind, str(text)))
    if field.datatype in ("floatComplex", "doubleComplex") or is_array(field):
        return _text_array(field)
    if field.datatype in ("boolean", "bit"):
        return _text_boolean
    if field.datatype in _FLOATS:
        return _text_float(field.null)
    if field.datatype in _INTEGERS:
        return _text_integer(field.null)
    return None


def binary_converter(field: FieldSpec) -> Converter | None:
    """Converter for one BINARY struct item (see ``binary.py`` for the item of each type), or None."""
    from jmmctap.ingest.columns import is_array, pg_type

    kind = pg_type(field)
    if kind in ("spoint", "scircle", "spoly"):
        if field.datatype in ("char", "unicodeChar"):
            text = _binary_char if field.datatype == "char" else _binary_unicode
            return lambda raw: _text_geometry(kind, text(raw))
        code = _ARRAY_CODES[field.datatype]
        return lambda raw: format_geometry(kind, _unpack(code, raw))  # type: ignore[arg-type]
    if field.datatype == "char":
        return _binary_char
    if field.datatype == "unicodeChar":
        return _binary_unicode
    if field.datatype == "boolean":
        return _binary_booleans if is_array(field) else _binary_boolean
    if field.datatype == "bit":
        return _binary_bits(field) if is_array(field) else lambda raw: bool(int(raw) & 0x80)  # type: ignore[call-overload]
    if field.datatype in ("floatComplex", "doubleComplex") or is_array(field):
        code = _ARRAY_CODES[field.datatype]
        if field.null is not None and field.datatype in _INTEGERS:
            sentinel = _parse_int(field.null)
            return lambda raw: [None if v == sentinel else v for v in _unpack(code, raw)]  # type: ignore[arg-type]
        return lambda raw: _unpack(code, raw)  # type: ignore[arg-type]
    if field.datatype in _FLOATS:
        return _binary_float(field.null)
    if field.null is not None:
        sentinel = _parse_int(field.null)
        return lambda value: None if value == sentinel else value
    return None


def format_geometry(kind: str, numbers: list[Any]) -> str | None:
    """pgsphere input syntax for DALI point/circle/polygon numbers (degrees); NaN or empty → NULL.

    Raises
    ------
    CellError
        Not the right count of numbers, or a position off the sky (module docstring).
    """
    if not numbers or any(math.isnan(x) for x in numbers):
        return None
    expected = {"spoint": 2, "scircle": 3}.get(kind)
    if (expected and len(numbers) != expected) or (kind == "spoly" and (len(numbers) < 6 or len(numbers) % 2)):
        raise CellError(f"{len(numbers)} numbers do not make a {kind[1:]}")
    _check_on_sky(kind, numbers)
    points = [f"({numbers[i]!r}d,{numbers[i + 1]!r}d)" for i in range(0, len(numbers) - (kind == "scircle"), 2)]
    if kind == "spoint":
        return points[0]
    if kind == "scircle":
        return f"<{points[0]},{numbers[2]!r}d>"
    return "{" + ",".join(points) + "}"


def _check_on_sky(kind: str, numbers: list[Any]) -> None:
    vertices = numbers[:2] if kind == "scircle" else numbers
    for lon, lat in zip(vertices[::2], vertices[1::2], strict=True):
        if not (-360 <= lon <= 360 and -90 <= lat <= 90):
            raise CellError(f"position ({lon!r}, {lat!r}) is not on the sky: longitude must be within [-360, 360]"
                            " degrees, latitude within [-90, 90]")
    if kind == "scircle" and not 0 <= numbers[2] <= 180:
        raise CellError(f"circle radius {numbers[2]!r} must be within [0, 180] degrees")


_STCS_SHAPES = {"spoint": "position", "scircle": "circle", "spoly": "polygon"}
_STCS_WORDS = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*\s+)*")


def _geometry_numbers(kind: str, text: str) -> list[float]:
    """The numbers of a DALI geometry (``10 20``) or of its STC-S form (``Position ICRS 10 20``)."""
    words = _STCS_WORDS.match(text)
    head = words.group(0).split() if words else []
    if head and head[0].lower() != _STCS_SHAPES[kind]:
        raise CellError(f"{text.strip()[:60]!r} is not a {kind[1:]} (DALI numbers or STC-S {_STCS_SHAPES[kind]})")
    return _numbers(text[words.end():] if words else text)


def _text_geometry(kind: str, text: object) -> str | None:
    return None if text is None else format_geometry(kind, _geometry_numbers(kind, str(text)))


def _numbers(text: str) -> list[float]:
    try:
        return [float(t) for t in _SEPARATORS.split(text.strip()) if t]
    except ValueError:
        raise CellError(f"{text!r} is not a list of numbers") from None


def _text_array(field: FieldSpec) -> Converter:
    boolean = field.datatype in ("boolean", "bit")
    null = field.null.strip() if field.null else None
    number = _float_or_none(null) if null else None

    def convert(text: object) -> object:
        tokens = [t for t in _SEPARATORS.split(str(text).strip()) if t]
        if not tokens:
            return None
        if field.datatype == "bit":
            tokens = list("".join(tokens))  # bits may be written without separators: 1111000011110000
        if boolean:
            tokens = ["t" if t.lower() in _TRUE else "f" if t.lower() in _FALSE else "NULL" for t in tokens]
        elif null is not None:
            tokens = ["NULL" if t == null or _float_or_none(t) == number else t for t in tokens]  # per element
        return "{" + ",".join(tokens) + "}"
    return convert


def _text_boolean(text: object) -> object:
    value = str(text).strip().lower()
    if value in _TRUE:
        return "t"
    if value in _FALSE:
        return "f"
    if value in ("", "?"):
        return None
    raise CellError(f"{value!r} is not a VOTable boolean (T, F, 1, 0, true, false or ?)")


def _text_float(null: str | None) -> Converter:
    sentinel = _parse_float(null) if null is not None else None
    null = null.strip() if null else None

    def convert(text: object) -> object:
        value = str(text).strip()
        if not value or value in _NAN or value == null:
            return None
        if sentinel is not None and _float_or_none(value) == sentinel:
            return None
        return value
    return convert


def _text_integer(null: str | None) -> Converter | None:
    if null is None:
        return None  # PostgreSQL parses the text (surrounding blanks allowed)
    sentinel = _parse_int(null)
    null = null.strip()

    def convert(text: object) -> object:
        value = str(text).strip()
        if not value or value == null:
            return None
        if value[:2] in ("0x", "0X"):
            value = str(int(value, 16))
        if sentinel is not None and _parse_int(value) == sentinel:
            return None
        return value
    return convert


def _binary_char(raw: object) -> object:
    text = bytes(raw).split(b"\0", 1)[0].decode("utf-8", errors="replace")  # type: ignore[call-overload]
    return text or None


def _binary_unicode(raw: object) -> object:
    text = bytes(raw).decode("utf-16-be", errors="replace").split("\0", 1)[0]  # type: ignore[call-overload]
    return text or None


def _binary_boolean(raw: object) -> object:
    byte = bytes(raw)  # type: ignore[call-overload]
    if byte in (b"T", b"t", b"1", b"\x01"):
        return True
    if byte in (b"F", b"f", b"0"):
        return False
    return None


def _binary_booleans(raw: object) -> object:
    return [_binary_boolean(bytes([b])) for b in bytes(raw)]  # type: ignore[call-overload]


def _binary_bits(field: FieldSpec) -> Converter:
    def convert(raw: object) -> object:
        data = bytes(raw)  # type: ignore[call-overload]
        return [bool(data[i // 8] & (0x80 >> (i % 8))) for i in range(len(data) * 8)]
    return convert


def _binary_float(null: str | None) -> Converter:
    sentinel = _parse_float(null) if null is not None else None

    def convert(value: object) -> object:
        if value != value or (sentinel is not None and value == sentinel):
            return None
        return value
    return convert


def _unpack(code: str, raw: bytes) -> list[Any]:
    values = array.array(code)
    values.frombytes(raw)
    if sys.byteorder == "little":
        values.byteswap()
    return values.tolist()


def _parse_int(text: str) -> int | None:
    try:
        return int(text.strip(), 16) if text.strip()[:2] in ("0x", "0X") else int(float(text))
    except ValueError:
        return None


def _parse_float(text: str) -> float | None:
    return _float_or_none(text.strip())


def _float_or_none(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
