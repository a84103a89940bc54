"""Check a JSON value sent for a catalog cell against the column's TAP_SCHEMA datatype and arraysize.

This is the first of two checks, the one that names the column in its message: PostgreSQL checks the value
again when the SECURITY DEFINER function writes it (column type, typmod, CHECK constraints, sql/0032).
Numbers may come as JSON strings, as JMMC's catalogAPI accepted them ("2" for a short). An empty string is
NULL, as in VOTable: a2p2 sends back the ``""`` astropy reads for a NULL text cell.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from jmmctap.errors import UsageError
from jmmctap.tapschema import Column

__all__ = ["INTEGER_RANGES", "check_value"]

INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "unsignedByte": (0, 255),
    "short": (-(2**15), 2**15 - 1),
    "int": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
}
"""Inclusive range of each VOTable integer datatype."""

_FLOAT_MAX = {"float": 3.4028234663852886e38, "double": math.inf}
"""Largest magnitude of each VOTable floating-point datatype (JSON has no infinity or NaN)."""

_TEXT = frozenset({"char", "unicodeChar"})
_BOOLEAN_TEXT = {"true": True, "t": True, "1": True, "false": False, "f": False, "0": False}
_SIZE = re.compile(r"^(\d+)?(\*)?$")


def check_value(column: Column, value: Any) -> Any:
    """``value`` as it may be written to ``column`` (``None``: NULL).

    Raises
    ------
    UsageError
        The value is not of the column's type, out of its range, too long, or the column is not writable here.
    """
    if value is None or value == "":
        return None
    if column.xtype and column.xtype.lower() not in ("timestamp", "adql:timestamp"):
        raise UsageError(f"column {column.db_name} ({column.xtype}) cannot be written through the catalog API")
    if column.datatype in _TEXT:
        return _check_text(column, value)
    limit = _array_limit(column.arraysize)
    if limit is None:
        return _check_scalar(column, value)
    if not isinstance(value, list):
        raise UsageError(f"column {column.db_name}: expected an array of {column.datatype}, got {value!r}")
    if limit >= 0 and len(value) > limit:
        raise UsageError(f"column {column.db_name}: at most {limit} values, got {len(value)}")
    return [None if v is None else _check_scalar(column, v) for v in value]


def _check_text(column: Column, value: Any) -> str:
    if not isinstance(value, str):
        raise UsageError(f"column {column.db_name}: expected a string, got {value!r}")
    if column.xtype:  # timestamp
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise UsageError(f"column {column.db_name}: {value!r} is not an ISO 8601 timestamp") from None
        return value
    limit = _array_limit(column.arraysize)
    if limit is not None and limit >= 0 and len(value) > limit:
        raise UsageError(f"column {column.db_name}: at most {limit} characters, got {len(value)}")
    return value


def _check_scalar(column: Column, value: Any) -> Any:
    kind = column.datatype
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _BOOLEAN_TEXT:
            return _BOOLEAN_TEXT[value.strip().lower()]
        raise UsageError(f"column {column.db_name}: expected true or false, got {value!r}")
    if kind in INTEGER_RANGES:
        number = _integer(column, value)
        low, high = INTEGER_RANGES[kind]
        if not low <= number <= high:
            raise UsageError(f"column {column.db_name}: {number} is out of the range of {kind} ({low} to {high})")
        return number
    if kind in _FLOAT_MAX:
        real = _real(column, value)
        if not math.isfinite(real) or abs(real) > _FLOAT_MAX[kind]:
            raise UsageError(f"column {column.db_name}: {value!r} is out of the range of {kind}")
        return real
    raise UsageError(f"column {column.db_name} ({kind}) cannot be written through the catalog API")


def _integer(column: Column, value: Any) -> int:
    if isinstance(value, bool):
        raise UsageError(f"column {column.db_name}: expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise UsageError(f"column {column.db_name}: expected an integer, got {value!r}")


def _real(column: Column, value: Any) -> float:
    if isinstance(value, bool):
        raise UsageError(f"column {column.db_name}: expected a number, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise UsageError(f"column {column.db_name}: expected a number, got {value!r}")


def _array_limit(arraysize: str | None) -> int | None:
    """None: a scalar; -1: no limit; else the most elements (or characters) allowed."""
    if not arraysize:
        return None
    match = _SIZE.match(arraysize.strip())
    if match is None:  # multidimensional: let PostgreSQL decide
        return -1
    size = match.group(1)
    return -1 if size is None else int(size)
