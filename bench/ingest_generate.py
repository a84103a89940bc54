"""Generate a large VOTable (TABLEDATA or BINARY2) for the ingest benchmark.

    .venv/bin/python bench/ingest_generate.py --rows 500000 --format binary2 /tmp/big.b2.vot
    /usr/bin/time -v .venv/bin/jmmctap ingest /tmp/big.b2.vot --table bench.big_b2

50 columns: id (long), ra/dec (double, main position), 20 doubles, 12 floats, 8 ints, 2 shorts,
1 boolean, 3 variable strings and 1 fixed char[8]; about 1 % NULLs. Written row by row (never
held in memory).
"""

from __future__ import annotations

import argparse
import base64
import math
import random
import struct
from pathlib import Path
from typing import IO

COLUMNS: list[tuple[str, str, str | None, str | None]] = (
    [("id", "long", None, "meta.id;meta.main"), ("ra", "double", None, "pos.eq.ra;meta.main"),
     ("dec", "double", None, "pos.eq.dec;meta.main")]
    + [(f"d{i}", "double", None, "phot.mag") for i in range(20)]
    + [(f"f{i}", "float", None, "stat.error") for i in range(12)]
    + [(f"i{i}", "int", None, "meta.code") for i in range(8)]
    + [(f"s{i}", "short", None, "meta.number") for i in range(2)]
    + [("flag", "boolean", None, "meta.code.qual")]
    + [(f"name{i}", "char", "*", "meta.id") for i in range(3)]
    + [("code", "char", "8", "meta.code")]
)
"""(name, datatype, arraysize, ucd) of the 50 columns."""

NULL_FRACTION = 0.01
"""Share of NULL cells in the nullable columns."""

_CODES = {"long": "q", "double": "d", "float": "f", "int": "i", "short": "h"}


def _header(out: IO[str], rows: int) -> None:
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n'
              '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n<RESOURCE type="results">\n'
              f'<TABLE name="bench" nrows="{rows}">\n<DESCRIPTION>Generated benchmark table</DESCRIPTION>\n')
    for name, datatype, arraysize, ucd in COLUMNS:
        size = f' arraysize="{arraysize}"' if arraysize else ""
        unit = ' unit="deg"' if name in ("ra", "dec") else ""
        out.write(f'<FIELD name="{name}" datatype="{datatype}"{size} ucd="{ucd}"{unit}/>\n')
    out.write("<DATA>\n")


def _row(rng: random.Random, index: int) -> list[object]:
    values: list[object] = []
    for name, datatype, arraysize, _ in COLUMNS:
        nullable = name not in ("id", "ra", "dec")
        if nullable and rng.random() < NULL_FRACTION:
            values.append(None)
        elif name == "id":
            values.append(index)
        elif name == "ra":
            values.append(rng.uniform(0, 360))
        elif name == "dec":
            values.append(math.degrees(math.asin(rng.uniform(-1, 1))))
        elif datatype in ("double", "float"):
            values.append(rng.gauss(10, 3))
        elif datatype == "int":
            values.append(rng.randrange(-100000, 100000))
        elif datatype == "short":
            values.append(rng.randrange(-3000, 3000))
        elif datatype == "boolean":
            values.append(rng.random() < 0.5)
        elif arraysize == "*":
            values.append(f"HD {rng.randrange(1, 400000)} & <{name}>")
        else:
            values.append(f"C{rng.randrange(0, 9999999):07d}")
    return values


def _write_tabledata(out: IO[str], rows: int, rng: random.Random) -> None:
    out.write("<TABLEDATA>\n")
    for index in range(rows):
        cells = []
        for value in _row(rng, index):
            if value is None:
                cells.append("<TD/>")
            elif isinstance(value, bool):
                cells.append("<TD>T</TD>" if value else "<TD>F</TD>")
            elif isinstance(value, str):
                cells.append("<TD>" + value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "</TD>")
            elif isinstance(value, float):
                cells.append(f"<TD>{value:.10g}</TD>")
            else:
                cells.append(f"<TD>{value}</TD>")
        out.write("<TR>" + "".join(cells) + "</TR>\n")
    out.write("</TABLEDATA>\n")


def _binary2_row(values: list[object]) -> bytes:
    flags = 0
    parts = []
    for i, ((_, datatype, arraysize, _), value) in enumerate(zip(COLUMNS, values, strict=True)):
        if value is None:
            flags |= 1 << (len(COLUMNS) + 6 - i - 1)
        if datatype in _CODES:
            parts.append(struct.pack(">" + _CODES[datatype], value if value is not None else 0)
                         if datatype not in ("double", "float") else
                         struct.pack(">" + _CODES[datatype], value if value is not None else math.nan))
        elif datatype == "boolean":
            parts.append(b"?" if value is None else b"T" if value else b"F")
        elif arraysize == "*":
            data = (value or "").encode()  # type: ignore[attr-defined]
            parts.append(struct.pack(">I", len(data)) + data)
        else:
            parts.append((value or "").encode().ljust(8, b"\0"))  # type: ignore[attr-defined]
    return flags.to_bytes(7, "big") + b"".join(parts)


def _write_binary2(out: IO[str], rows: int, rng: random.Random) -> None:
    out.write('<BINARY2>\n<STREAM encoding="base64">\n')
    pending = b""
    for index in range(rows):
        pending += _binary2_row(_row(rng, index))
        if len(pending) >= 57 * 1000:
            cut = len(pending) // 57 * 57
            out.write(base64.encodebytes(pending[:cut]).decode())
            pending = pending[cut:]
    out.write(base64.encodebytes(pending).decode())
    out.write("</STREAM>\n</BINARY2>\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path)
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--format", choices=["tabledata", "binary2"], default="binary2")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    assert len(COLUMNS) == 50
    rng = random.Random(args.seed)
    with args.output.open("w", encoding="utf-8") as out:
        _header(out, args.rows)
        (_write_tabledata if args.format == "tabledata" else _write_binary2)(out, args.rows, rng)
        out.write("</DATA>\n</TABLE>\n</RESOURCE>\n</VOTABLE>\n")


if __name__ == "__main__":
    main()
