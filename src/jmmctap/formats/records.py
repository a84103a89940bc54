"""Binary VOTable records (VOTable 1.4 §5.3–5.4, §6): a batch of rows to BINARY or BINARY2 bytes, column-wise.

Each column of a batch is converted at once with numpy into either a fixed-width block (``n × width``
bytes: numbers, booleans, fixed arrays, the 4-byte count of a variable array) or a variable payload
(the concatenated items of variable arrays and strings). The blocks are then scattered into the
record layout, so the per-value work stays in C. NULL cells still occupy their bytes, filled with
:data:`NULL_FILL` (the magic value declared by BINARY's ``<VALUES null>``), NaN, ``?`` or a zero count;
BINARY2 also prefixes each record with its null flags (MSB of the first byte = first column).

``char`` is ASCII: other characters become ``?`` (astropy reads ``char`` as ASCII; declare
``unicodeChar`` for text that needs them). ``unicodeChar`` is written as UTF-16BE code units.
A variable array or string longer than the bound of its arraysize (``10*``) is cut to it.

``bit`` arrays are packed, first element in the most significant bit, ``ceil(n / 8)`` bytes, and
a variable one counts bits (§5.3); a scalar ``bit`` is one byte whose most significant bit holds the
value. BINARY cannot mark a NULL bit (``bit`` has no magic value): it is written 0; BINARY2 flags it.
Complex numbers (``floatComplex``, ``doubleComplex``) are their real and imaginary parts, in that
order; a variable complex array counts complex numbers. (What the result FIELDs declare so that
every client reads these the same way is :func:`jmmctap.formats.binary2.binary_field`'s business.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt

from jmmctap.errors import UsageError
from jmmctap.formats.cells import INTEGER_NULLS, flatten, is_array, to_text
from jmmctap.results import ResultColumn, Row

__all__ = ["NULL_FILL", "RecordEncoder", "compile_records"]

NUMBER_DTYPES = {"unsignedByte": ">u1", "short": ">i2", "int": ">i4", "long": ">i8", "float": ">f4", "double": ">f8",
                 "floatComplex": ">f4", "doubleComplex": ">f8"}
"""Big-endian numpy types of the numeric VOTable datatypes (of each part, for complex numbers)."""

PARTS = {"floatComplex": 2, "doubleComplex": 2}
"""Numbers per item of the datatypes whose items are several numbers (1 for the others)."""

SCALAR_BIT_TRUE = 0x80
"""The byte of a true scalar bit: its most significant bit set."""

NULL_FILL: dict[str, int | float] = {
    **INTEGER_NULLS,
    "float": math.nan,
    "double": math.nan,
    "floatComplex": math.nan,
    "doubleComplex": math.nan,
}
"""What a NULL number is written as; FIELDs declare the integer ones with ``<VALUES null=…>`` where they occur."""

Bytes2D = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_] | None


@dataclass(frozen=True)
class _Payload:
    """Variable bytes of one column: ``lengths[i]`` bytes for row ``i``, concatenated in ``data``."""

    lengths: npt.NDArray[np.int64]
    data: npt.NDArray[np.uint8]


Part = Bytes2D | _Payload
ColumnCodec = Callable[[Sequence[Any]], tuple[list[Part], Mask]]


@dataclass(frozen=True)
class RecordEncoder:
    """Encodes batches of rows for fixed columns; ``null_flags`` selects BINARY2."""

    codecs: tuple[ColumnCodec, ...]
    null_flags: bool

    def encode(self, rows: Sequence[Row]) -> bytes:
        """The records of ``rows``, concatenated."""
        n = len(rows)
        if n == 0:
            return b""
        parts: list[Part] = []
        masks: list[Mask] = []
        for codec, values in zip(self.codecs, zip(*rows, strict=True), strict=True):
            column_parts, mask = codec(values)
            parts.extend(column_parts)
            masks.append(mask)
        if self.null_flags:
            parts.insert(0, _flags(masks, n))
        return _assemble(parts, n)


def compile_records(columns: Sequence[ResultColumn], *, null_flags: bool) -> RecordEncoder:
    """The record encoder of these columns.

    Raises
    ------
    UsageError
        A column has a datatype outside VOTable's or an arraysize that cannot be read (nothing the
        ingester publishes; a hand-declared TAP_SCHEMA column may): the text formats still serve it.
    """
    return RecordEncoder(tuple(_codec(c) for c in columns), null_flags)


def array_count(arraysize: str) -> tuple[int | None, int | None]:
    """``(fixed item count, None)`` for a fixed array, ``(None, bound)`` for a variable one (bound may be None)."""
    dims = arraysize.split("x")
    last = dims[-1]
    inner = math.prod(int(d) for d in dims[:-1])
    if last.endswith("*"):
        bound = last[:-1]
        return None, (inner * int(bound) if bound else None)
    return inner * int(last), None


def _codec(column: ResultColumn) -> ColumnCodec:
    datatype = column.datatype
    try:
        fixed, bound = array_count(column.arraysize) if column.arraysize else (1, None)
    except ValueError:
        raise UsageError(f"column {column.name}: arraysize {column.arraysize!r} cannot be written in binary"
                         " VOTable; ask for RESPONSEFORMAT=votable/td or csv") from None
    if datatype in ("char", "unicodeChar"):
        encoding = "ascii" if datatype == "char" else "utf-16-be"
        if column.arraysize is None:
            return _fixed_strings(encoding, 1)
        return _fixed_strings(encoding, fixed) if fixed is not None else _variable_strings(encoding, bound)
    if datatype == "boolean":
        if not is_array(column):
            return _booleans
        return _fixed_boolean_arrays(fixed) if fixed is not None else _variable_boolean_arrays(bound)
    if datatype == "bit":
        if not is_array(column):
            return _bits
        return _fixed_bit_arrays(fixed) if fixed is not None else _variable_bit_arrays(bound)
    if datatype in NUMBER_DTYPES:
        dtype = np.dtype(NUMBER_DTYPES[datatype])
        fill = NULL_FILL[datatype]
        parts = PARTS.get(datatype, 1)
        if not is_array(column) and parts == 1:
            return lambda values: _numbers(values, dtype, fill)
        if fixed is not None:
            return lambda values: _fixed_arrays(values, dtype, fill, fixed * parts)
        return lambda values: _variable_arrays(values, dtype, fill, None if bound is None else bound * parts, parts)
    raise UsageError(f"column {column.name}: datatype {datatype!r} cannot be written in binary VOTable;"
                     " ask for RESPONSEFORMAT=votable/td or csv")


# --- numbers -------------------------------------------------------------------------------------


def _numbers(values: Sequence[Any], dtype: np.dtype[Any], fill: float) -> tuple[list[Part], Mask]:
    mask: Mask = None
    if dtype.kind == "f":
        numbers = np.array(values, dtype=dtype)  # None becomes NaN; NaN and NULL differ only by the mask
        nan = np.flatnonzero(np.isnan(numbers))
        if nan.size:
            mask = np.zeros(len(values), dtype=np.bool_)
            mask[nan] = [values[i] is None for i in nan.tolist()]
    else:
        try:
            numbers = np.array(values, dtype=dtype)
        except TypeError:
            mask = _null_mask(values)
            numbers = np.array([fill if v is None else v for v in values], dtype=dtype)
    return [numbers.view(np.uint8).reshape(len(values), dtype.itemsize)], mask


def _fixed_arrays(values: Sequence[Any], dtype: np.dtype[Any], fill: float, count: int) -> tuple[list[Part], Mask]:
    n = len(values)
    mask: Mask = None
    try:
        numbers = np.array(values, dtype=dtype).reshape(n, count)
    except (TypeError, ValueError):
        mask = _null_mask(values)
        numbers = np.array([_fit(v, count, fill) for v in values], dtype=dtype).reshape(n, count)
    return [numbers.view(np.uint8).reshape(n, count * dtype.itemsize)], mask


def _fit(value: Any, count: int, fill: float) -> list[Any]:
    items = [] if value is None else [fill if x is None else x for x in flatten(value)]
    return (items + [fill] * count)[:count]


def _variable_arrays(values: Sequence[Any], dtype: np.dtype[Any], fill: float, bound: int | None,
                     parts: int = 1) -> tuple[list[Part], Mask]:
    n = len(values)
    mask: Mask = None
    if None in values:
        mask = _null_mask(values)
        values = [() if v is None else v for v in values]
    counts = np.fromiter(map(len, values), dtype=np.int64, count=n)
    try:
        if bound is not None and counts.size and counts.max() > bound:
            raise ValueError("array longer than its arraysize")
        flat = np.fromiter(chain.from_iterable(values), dtype=dtype.newbyteorder("="), count=int(counts.sum()))
    except (TypeError, ValueError):  # nested lists, NULL items or too long: the slow, careful way
        rows = [[fill if x is None else x for x in flatten(v)][:bound] for v in values]
        counts = np.fromiter(map(len, rows), dtype=np.int64, count=n)
        flat = np.fromiter(chain.from_iterable(rows), dtype=dtype.newbyteorder("="), count=int(counts.sum()))
    data = flat.astype(dtype).view(np.uint8)
    if parts > 1 and (counts % parts).any():  # a complex number without its imaginary part: pad with NaN
        rows = [[fill if x is None else x for x in flatten(v)][:bound] for v in values]
        rows = [r + [fill] * (-len(r) % parts) for r in rows]
        counts = np.fromiter(map(len, rows), dtype=np.int64, count=n)
        data = np.fromiter(chain.from_iterable(rows), dtype=dtype.newbyteorder("="),
                           count=int(counts.sum())).astype(dtype).view(np.uint8)
    return [_counts(counts // parts), _Payload(counts * dtype.itemsize, data)], mask


# --- booleans ------------------------------------------------------------------------------------

_BOOLEAN_BYTES = {True: 84, False: 70, None: 63}  # 'T', 'F', '?' (VOTable §6); 1 and 0 hash like True and False


def _boolean_bytes(values: Sequence[Any]) -> bytes:
    try:
        return bytes(map(_BOOLEAN_BYTES.__getitem__, values))
    except (KeyError, TypeError):
        return bytes(63 if v is None else (84 if v else 70) for v in values)


def _booleans(values: Sequence[Any]) -> tuple[list[Part], Mask]:
    data = np.frombuffer(_boolean_bytes(values), dtype=np.uint8)
    mask = data == 63 if None in values else None
    return [data.reshape(len(values), 1)], mask


def _fixed_boolean_arrays(count: int) -> ColumnCodec:
    def encode(values: Sequence[Any]) -> tuple[list[Part], Mask]:
        mask = _null_mask(values) if None in values else None
        cells = [_boolean_bytes(_fit(v, count, None)) for v in values]  # type: ignore[arg-type]
        return [np.frombuffer(b"".join(cells), dtype=np.uint8).reshape(len(values), count)], mask

    return encode


def _variable_boolean_arrays(bound: int | None) -> ColumnCodec:
    def encode(values: Sequence[Any]) -> tuple[list[Part], Mask]:
        mask = _null_mask(values) if None in values else None
        cells = [b"" if v is None else _boolean_bytes(flatten(v)[:bound]) for v in values]
        counts = np.fromiter(map(len, cells), dtype=np.int64, count=len(values))
        return [_counts(counts), _Payload(counts, np.frombuffer(b"".join(cells), dtype=np.uint8))], mask

    return encode


# --- bits --------------------------------------------------------------------------------------


def _bits(values: Sequence[Any]) -> tuple[list[Part], Mask]:
    mask = _null_mask(values) if None in values else None
    data = np.fromiter((SCALAR_BIT_TRUE if v else 0 for v in values), dtype=np.uint8, count=len(values))
    return [data.reshape(len(values), 1)], mask


def _packed(items: Sequence[Any]) -> bytes:
    """Bits packed big-end first into whole bytes (NULL items, which only BINARY2 rows can hold, as 0)."""
    return np.packbits(np.fromiter((bool(x) for x in items), dtype=np.bool_, count=len(items))).tobytes()


def _fixed_bit_arrays(count: int) -> ColumnCodec:
    width = (count + 7) // 8

    def encode(values: Sequence[Any]) -> tuple[list[Part], Mask]:
        mask = _null_mask(values) if None in values else None
        cells = [_packed(_fit(v, count, 0)) for v in values]
        return [np.frombuffer(b"".join(cells), dtype=np.uint8).reshape(len(values), width)], mask

    return encode


def _variable_bit_arrays(bound: int | None) -> ColumnCodec:
    def encode(values: Sequence[Any]) -> tuple[list[Part], Mask]:
        mask = _null_mask(values) if None in values else None
        items = [[] if v is None else flatten(v)[:bound] for v in values]
        cells = [_packed(i) for i in items]
        counts = np.fromiter(map(len, items), dtype=np.int64, count=len(values))  # the count is in bits
        lengths = np.fromiter(map(len, cells), dtype=np.int64, count=len(values))
        return [_counts(counts), _Payload(lengths, np.frombuffer(b"".join(cells), dtype=np.uint8))], mask

    return encode


# --- strings -------------------------------------------------------------------------------------


def _texts(values: Sequence[Any]) -> tuple[Sequence[str], Mask]:
    try:
        "".join(values)
        return values, None
    except TypeError:
        mask = _null_mask(values) if None in values else None
        return ["" if v is None else to_text(v) for v in values], mask


def _encode_text(text: str, encoding: str) -> bytes:
    return text.encode(encoding, "replace")  # '?' for non-ASCII in char, for lone surrogates in unicodeChar


def _variable_strings(encoding: str, bound: int | None) -> ColumnCodec:
    unit = 1 if encoding == "ascii" else 2

    def encode(values: Sequence[Any]) -> tuple[list[Part], Mask]:
        texts, mask = _texts(values)
        n = len(texts)
        joined = "".join(texts)
        data = _encode_text(joined, encoding)
        if len(data) == unit * len(joined):  # one code unit per character: lengths are len(str)
            counts = np.fromiter(map(len, texts), dtype=np.int64, count=n)
        else:
            encoded = [_encode_text(t, encoding) for t in texts]
            counts = np.fromiter(map(len, encoded), dtype=np.int64, count=n) // unit
        if bound is not None and counts.size and counts.max() > bound:
            encoded = [_encode_text(t, encoding)[: bound * unit] for t in texts]
            counts = np.fromiter(map(len, encoded), dtype=np.int64, count=n) // unit
            data = b"".join(encoded)
        return [_counts(counts), _Payload(counts * unit, np.frombuffer(data, dtype=np.uint8))], mask

    return encode


def _fixed_strings(encoding: str, count: int) -> ColumnCodec:
    width = count * (1 if encoding == "ascii" else 2)

    def encode(values: Sequence[Any]) -> tuple[list[Part], Mask]:
        texts, mask = _texts(values)
        cells = [_encode_text(t, encoding)[:width].ljust(width, b"\0") for t in texts]  # NUL-padded (§6)
        return [np.frombuffer(b"".join(cells), dtype=np.uint8).reshape(len(texts), width)], mask

    return encode


# --- layout --------------------------------------------------------------------------------------


def _null_mask(values: Sequence[Any]) -> npt.NDArray[np.bool_]:
    return np.fromiter((v is None for v in values), dtype=np.bool_, count=len(values))


def _counts(counts: npt.NDArray[np.int64]) -> Bytes2D:
    return counts.astype(">u4").view(np.uint8).reshape(len(counts), 4)


def _flags(masks: list[Mask], n: int) -> Bytes2D:
    width = (len(masks) + 7) // 8
    if all(m is None for m in masks):
        return np.zeros((n, width), dtype=np.uint8)
    bits = np.zeros((n, width * 8), dtype=np.bool_)
    for i, mask in enumerate(masks):
        if mask is not None:
            bits[:, i] = mask
    return np.packbits(bits, axis=1)  # big bit order: the first column is the most significant bit


def _assemble(parts: list[Part], n: int) -> bytes:
    """Interleave the parts row by row: ``row i = part0[i] + part1[i] + …``."""
    blocks = _merge_fixed(parts)
    if len(blocks) == 1 and not isinstance(blocks[0], _Payload):
        return blocks[0].tobytes()
    row_lengths = np.zeros(n, dtype=np.int64)
    for block in blocks:
        row_lengths += block.lengths if isinstance(block, _Payload) else block.shape[1]
    offsets = np.cumsum(row_lengths) - row_lengths  # where each row starts, then advanced part by part
    out = np.empty(int(row_lengths.sum()), dtype=np.uint8)
    for block in blocks:
        if isinstance(block, _Payload):
            if block.data.size:
                starts = np.cumsum(block.lengths) - block.lengths
                out[np.repeat(offsets - starts, block.lengths) + np.arange(block.data.size)] = block.data
            offsets += block.lengths
        elif block.shape[1]:
            out[offsets[:, None] + np.arange(block.shape[1])] = block
            offsets += block.shape[1]
    return out.tobytes()


def _merge_fixed(parts: list[Part]) -> list[Part]:
    merged: list[Part] = []
    run: list[Bytes2D] = []
    for part in parts:
        if isinstance(part, _Payload):
            if run:
                merged.append(np.concatenate(run, axis=1) if len(run) > 1 else run[0])
                run = []
            merged.append(part)
        else:
            run.append(part)
    if run:
        merged.append(np.concatenate(run, axis=1) if len(run) > 1 else run[0])
    return merged
