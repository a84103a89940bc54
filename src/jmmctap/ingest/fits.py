"""FITS binary tables as a ``TableSource`` (astropy.io.fits, memory-mapped, read in row chunks).

Column metadata comes from the header: TTYPEn → name, TFORMn → datatype/arraysize, TUNITn → unit,
TNULLn → null value, and the common non-standard TCOMMn → description, TUCDn → UCD.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from jmmctap.ingest.model import FieldSpec, InfoSpec, IngestError, ReadLimits, Row, TableSpec

__all__ = ["FitsSource"]

CHUNK_ROWS = 10_000
"""Rows converted at a time (fewer when rows are wide: see ``CHUNK_BYTES``)."""

CHUNK_BYTES = 8 << 20
"""Most row bytes converted to Python values at a time."""

_TFORM = re.compile(r"^\s*(\d*)([LXBIJKAEDCMPQ])", re.IGNORECASE)
_BYTES = {"L": 1, "X": 0.125, "B": 1, "I": 2, "J": 4, "K": 8, "A": 1, "E": 4, "D": 8, "C": 8, "M": 16}
_DATATYPES = {"L": "boolean", "X": "bit", "B": "unsignedByte", "I": "short", "J": "int", "K": "long", "A": "char",
              "E": "float", "D": "double", "C": "floatComplex", "M": "doubleComplex"}


@dataclass(frozen=True)
class FitsSource:
    """The ``table_index``-th binary table HDU of a FITS file."""

    spec: TableSpec
    hdu_index: int

    @classmethod
    def open(cls, path: Path, table_index: int = 0, limits: ReadLimits | None = None) -> FitsSource:
        try:
            # our own file object: astropy leaves its own unclosed when a truncated header fails to parse;
            # the header warnings of such a file are moot, the error below says it is unreadable
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", VerifyWarning)
                with open(path, "rb") as stream, fits.open(stream, memmap=True) as hdus:
                    tables = [i for i, h in enumerate(hdus) if isinstance(h, fits.BinTableHDU)]
                    if table_index >= len(tables):
                        raise IngestError(f"no binary table number {table_index} (the file has {len(tables)})",
                                          file=path)
                    header = hdus[tables[table_index]].header
                    if limits is not None:
                        _check_widths(header, path, limits)
                    return cls(_spec(path, header), tables[table_index])
        except (OSError, ValueError) as exc:
            raise IngestError(f"cannot read the FITS file: {exc}", file=path) from None

    def rows(self) -> Iterator[Row]:
        path = self.spec.file
        with fits.open(path, memmap=True) as hdus:
            data = hdus[self.hdu_index].data
            n = 0 if data is None else len(data)
            posts = [_post(f) for f in self.spec.fields]
            step = max(1, min(CHUNK_ROWS, CHUNK_BYTES // max(1, data.itemsize if data is not None else 1)))
            for start in range(0, n, step):
                chunk = data[start:start + step]
                columns = []
                for i, post in enumerate(posts):
                    values = chunk.field(i).tolist()
                    columns.append([post(v) for v in values] if post else values)
                yield from (list(row) for row in zip(*columns, strict=True))


def _spec(path: Path, header: Any) -> TableSpec:
    fields = []
    for i in range(1, int(header.get("TFIELDS", 0)) + 1):
        tform = str(header.get(f"TFORM{i}", ""))
        match = _TFORM.match(tform)
        if not match or match[2].upper() in "PQ":
            raise IngestError(f"unsupported TFORM {tform!r}", file=path, column=header.get(f"TTYPE{i}"))
        repeat = int(match[1] or 1)
        datatype = _DATATYPES[match[2].upper()]
        arraysize = None
        if datatype == "char":
            arraysize = f"{repeat}*"
        elif repeat != 1:
            arraysize = str(repeat)
        null = header.get(f"TNULL{i}")
        fields.append(FieldSpec(
            name=str(header.get(f"TTYPE{i}", f"col{i}")).strip(), datatype=datatype, arraysize=arraysize,
            unit=_text(header.get(f"TUNIT{i}")), ucd=_text(header.get(f"TUCD{i}")),
            description=_text(header.get(f"TCOMM{i}")), null=None if null is None else str(null),
        ))
    infos = [InfoSpec("INFO", key, str(value), "TABLE") for key, value in header.items()
             if key in ("EXTNAME", "ORIGIN", "AUTHOR", "REFERENC", "DATE", "TELESCOP", "INSTRUME")]
    return TableSpec(file=path, fields=tuple(fields), name=_text(header.get("EXTNAME")),
                     description=_text(header.get("COMMENT_DESCRIPTION")), infos=tuple(infos),
                     serialization="FITS", nrows_declared=int(header.get("NAXIS2", 0)))


def _check_widths(header: Any, path: Path, limits: ReadLimits) -> None:
    """Rows (NAXIS1) and cells (TFORM repeat × item size) within ``limits``, before any row is read."""
    limits.check_row(int(header.get("NAXIS1", 0)), path, 1)
    for i in range(1, int(header.get("TFIELDS", 0)) + 1):
        match = _TFORM.match(str(header.get(f"TFORM{i}", "")))
        if match and match[2].upper() in _BYTES:
            size = math.ceil(int(match[1] or 1) * _BYTES[match[2].upper()])
            limits.check_cell(size, path, 1, str(header.get(f"TTYPE{i}", f"col{i}")).strip())


def _text(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _post(field: FieldSpec) -> Any:
    if field.datatype == "char":
        return lambda v: (v.decode(errors="replace") if isinstance(v, bytes) else v).rstrip() or None
    if field.arraysize is not None:
        return lambda v: list(v) if not isinstance(v, list) else v
    if field.datatype in ("float", "double"):
        return lambda v: None if v is None or math.isnan(v) else v
    if field.null is not None and field.datatype in ("unsignedByte", "short", "int", "long"):
        sentinel = int(field.null)
        return lambda v: None if v == sentinel else v
    return None
