"""JSON results: one object with the column metadata, the rows as arrays, and the status last.

::

    {"columns": [{"name": "ra", "datatype": "double", "unit": "deg", …}, …],
     "query": "SELECT …",
     "data": [[10.5, "HD 1", null], …],
     "status": "OK"}

``status`` is ``OK``, ``OVERFLOW`` (MAXREC cut rows) or ``ERROR`` (the query failed after the first
byte; ``message`` then gives the reason), written after the rows like VOTable's trailing INFO, so
the document is valid JSON in every case. NULL is ``null``; JSON has no NaN or infinity, so those
are the strings ``"NaN"``, ``"+Inf"``, ``"-Inf"`` (the DALI spellings). Timestamps are DALI strings.
``boolean`` and ``bit`` values are ``true``/``false``; arrays are flat JSON arrays (a ``2x3`` array
is 6 numbers, as in TABLEDATA); a complex number is ``[real, imaginary]``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from jmmctap.formats.cells import flatten, format_float, has_items, to_text
from jmmctap.formats.writer import Ending, ResultInfo, encode_stream
from jmmctap.results import ResultColumn, ResultStream, Row

__all__ = ["JsonWriter"]

_METADATA = ("datatype", "arraysize", "xtype", "unit", "ucd", "utype", "description")


def _other_value(value: Any) -> Any:
    """JSON for values psycopg may return besides the usual ones (``numeric`` → Decimal, dates, UUIDs)."""
    if isinstance(value, Decimal):
        return int(value) if value.is_finite() and value == value.to_integral_value() else _json_float(float(value))
    if isinstance(value, np.generic):
        return value.item()
    return to_text(value)


_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"), default=_other_value)

Converter = Callable[[Sequence[Any]], Sequence[Any]] | None


@dataclass(frozen=True)
class JsonWriter:
    """The JSON result writer."""

    media_type: str = "application/json"

    def check(self, columns: Sequence[ResultColumn]) -> None:
        """Nothing to refuse: every value has a text form."""

    def write(self, stream: ResultStream, info: ResultInfo) -> AsyncIterator[bytes]:
        """The JSON document of ``stream`` (see the module docstring)."""
        converters = [_converter(c) for c in stream.columns]
        return self._generate(stream, info, converters)

    async def _generate(
        self, stream: ResultStream, info: ResultInfo, converters: list[Converter]
    ) -> AsyncIterator[bytes]:
        columns = [{"name": c.name} | {k: getattr(c, k) for k in _METADATA if getattr(c, k)} for c in stream.columns]
        query = info.query if info.query is not None else stream.query
        yield f'{{"columns":{_ENCODER.encode(columns)},\n"query":{_ENCODER.encode(query)},\n"data":['.encode()
        first = True

        def encode(rows: Sequence[Row]) -> bytes:
            nonlocal first
            raw = zip(*rows, strict=True)
            columns = [v if convert is None else convert(v) for convert, v in zip(converters, raw, strict=True)]
            text = _ENCODER.encode(list(zip(*columns, strict=True)))[1:-1]
            separator, first = ("\n" if first else ",\n"), False
            return (separator + text).encode()

        async with aclosing(encode_stream(stream, encode)) as chunks:
            async for chunk in chunks:
                if not isinstance(chunk, Ending):
                    yield chunk
                    continue
                tail = {"status": chunk.status} | ({"message": chunk.message} if chunk.message else {})
                yield ("],\n" + _ENCODER.encode(tail)[1:] + "\n").encode()


def _converter(column: ResultColumn) -> Converter:
    if has_items(column):
        if column.datatype in ("float", "double", "floatComplex", "doubleComplex"):
            return lambda values: [None if v is None else [_json_float(x) for x in flatten(v)] for v in values]
        return lambda values: [None if v is None else flatten(v) for v in values]
    if column.datatype == "double":
        return _doubles
    if column.datatype == "float":
        return _floats
    if column.datatype in ("char", "unicodeChar"):
        return _strings
    return None


def _json_float(value: float | None) -> float | str | None:
    if value is None or value - value == 0:  # finite
        return value
    return format_float(value)


def _doubles(values: Sequence[Any]) -> Sequence[Any]:
    numbers = np.array(values, dtype=np.float64)
    if np.isfinite(numbers).all():
        return values
    return [None if v is None else _json_float(x) for v, x in zip(values, numbers.tolist(), strict=True)]


def _floats(values: Sequence[Any]) -> Sequence[Any]:
    # the nearest double of float32's shortest decimal prints short: 0.1, not 0.10000000149011612
    numbers: list[Any] = np.array(values, dtype=np.float32).astype(str).astype(np.float64).tolist()
    if None in values:
        numbers = [None if v is None else n for v, n in zip(values, numbers, strict=True)]
    return [_json_float(n) for n in numbers] if not np.isfinite(np.array(values, dtype=np.float64)).all() else numbers


def _strings(values: Sequence[Any]) -> Sequence[Any]:
    try:
        "".join(values)
        return values
    except TypeError:
        return [None if v is None else to_text(v) for v in values]
