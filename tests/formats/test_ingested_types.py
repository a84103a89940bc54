"""Every column type ``jmmctap ingest`` can publish, in every format, read back by astropy and STIL.

The types are those of VOTable files in the wild (astropy's ``regression.xml`` has them all): bits
and bit arrays, complex numbers and their arrays, multidimensional variable arrays, integer arrays
with NULL elements, ``arraysize="1"``. Values are compared flattened (``2x3`` as 6 items, a complex
number as its two parts), since BINARY and BINARY2 declare some of them flat
(:func:`jmmctap.formats.binary2.binary_field`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io.votable import parse
from lxml import etree

from jmmctap import formats
from jmmctap.formats.binary2 import binary_field
from jmmctap.results import ResultColumn, Row
from tests.formats.streams import render

VOTABLES = ["votable", "votable/td", "votable/b"]

COLUMNS = [
    ResultColumn("bit", "bit"),
    ResultColumn("bits", "bit", "2x3"),
    ResultColumn("bits9", "bit", "9"),
    ResultColumn("bitvar", "bit", "*"),
    ResultColumn("bitvar2", "bit", "2x3x*"),
    ResultColumn("larr", "long", "2x2*"),
    ResultColumn("fc", "floatComplex"),
    ResultColumn("dc", "doubleComplex"),
    ResultColumn("dcvar", "doubleComplex", "*"),
    ResultColumn("dcfix", "doubleComplex", "2"),
    ResultColumn("inulls", "int", "2x2"),
    ResultColumn("ubvar", "unsignedByte", "*"),
    ResultColumn("one", "int", "1"),
    ResultColumn("c1", "char", "1"),
    ResultColumn("bounded", "char", "4*"),
    ResultColumn("u10", "unicodeChar", "10"),
    ResultColumn("after", "int"),
]

ROWS: list[Row] = [
    (True, [True, False, True, True, False, False], [True] * 8 + [False], [True, False, True], [True] * 6 + [False] * 6,
     [1, 2, 3, 4], [1.5, -2.0], [0.1, 0.2], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1, None, 3, 4], [0, 255, 7],
     5, "q", "ab", "Ré", 1),
    (False, [False] * 6, [False] * 9, [], [], [], [0.0, -1.0], [-0.5, 0.0], [], [0.0, 0.0, 0.0, 0.0], [None] * 4, [],
     -1, "z", "abcd", "", 2),
    (None, None, None, None, None, None, None, None, None, None, None, None, None, None, None, None, 3),
]


def _flat(value: Any) -> list[Any] | Any:
    """A value as comparable items: arrays flattened, complex numbers split, NaN/masked/empty as None."""
    if isinstance(value, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(value)
        if value.ndim == 0:
            return None if bool(mask) else _flat(value.item())
        data, masks = np.ravel(value.data).tolist(), np.ravel(mask).tolist()
        return _flat([None if m else x for x, m in zip(data, masks, strict=True)])
    if isinstance(value, np.ndarray):
        return _flat(np.ravel(value).tolist())
    if value is np.ma.masked:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, complex):
        return [value.real, value.imag]
    if isinstance(value, list | tuple):
        items: list[Any] = []
        for x in value:
            part = _flat(x)
            items.extend(part if isinstance(part, list) else [part])
        return None if not items or all(x is None for x in items) else items
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bytes):
        value = value.decode()
    return None if value == "" else value


def _expected(value: Any, column: ResultColumn, fmt: str = "votable") -> Any:
    """What a reader finds: BINARY has no NULL for a fixed bit array, whose bits are then all 0."""
    if value is None and fmt == "votable/b" and column.datatype == "bit" and (column.arraysize or "*")[-1] != "*":
        return [False] * math.prod(int(d) for d in (column.arraysize or "").split("x"))
    flat = _flat(value)
    if column.datatype == "floatComplex" and isinstance(flat, list):
        return [float(np.float32(x)) if x is not None else None for x in flat]
    return flat


def _astropy_rows(document: bytes) -> list[list[Any]]:
    table = parse(io.BytesIO(document)).get_first_table().array
    return [[_flat(table[name][i]) for name in table.dtype.names] for i in range(len(table))]


@pytest.mark.parametrize("fmt", VOTABLES)
async def test_every_ingested_type_reads_back_with_astropy(fmt: str) -> None:
    document = await render(fmt, COLUMNS, ROWS)
    expected = [[_expected(v, c, fmt) for v, c in zip(row, COLUMNS, strict=True)] for row in ROWS]
    assert _astropy_rows(document) == expected


@pytest.mark.parametrize("fmt", VOTABLES)
async def test_no_field_declares_arraysize_one(fmt: str) -> None:
    root = etree.fromstring(await render(fmt, COLUMNS, ROWS))
    fields = root.findall(".//{*}FIELD")
    assert fields and all(f.get("arraysize") != "1" for f in fields)
    assert {f.get("name"): f.get("arraysize") for f in fields}["one"] is None


async def test_tabledata_declares_every_column_as_published() -> None:
    root = etree.fromstring(await render("votable/td", COLUMNS, ROWS))
    declared = [(f.get("datatype"), f.get("arraysize")) for f in root.findall(".//{*}FIELD")]
    assert declared == [(c.datatype, None if c.arraysize == "1" else c.arraysize) for c in COLUMNS]


@pytest.mark.parametrize(("column", "datatype", "arraysize"), [
    (ResultColumn("x", "bit"), "boolean", None),
    (ResultColumn("x", "bit", "2x3"), "bit", "2x3"),
    (ResultColumn("x", "bit", "*"), "boolean", "*"),
    (ResultColumn("x", "bit", "2x3x*"), "boolean", "*"),
    (ResultColumn("x", "bit", "2x3x4*"), "boolean", "24*"),
    (ResultColumn("x", "long", "2x2*"), "long", "4*"),
    (ResultColumn("x", "long", "2x*"), "long", "*"),
    (ResultColumn("x", "char", "10x*"), "char", "*"),
    (ResultColumn("x", "char", "10*"), "char", "10*"),
    (ResultColumn("x", "doubleComplex", "*"), "double", "*"),
    (ResultColumn("x", "floatComplex", "3*"), "float", "6*"),
    (ResultColumn("x", "doubleComplex", "2"), "doubleComplex", "2"),
    (ResultColumn("x", "double", "*", xtype="polygon"), "double", "*"),
])
def test_binary_fields_are_declared_as_every_reader_reads_them(column: ResultColumn, datatype: str,
                                                               arraysize: str | None) -> None:
    declared = binary_field(column)
    assert (declared.datatype, declared.arraysize, declared.xtype) == (datatype, arraysize, column.xtype)


@pytest.mark.parametrize("fmt", VOTABLES)
async def test_integer_arrays_declare_the_magic_value_of_their_null_elements(fmt: str) -> None:
    root = etree.fromstring(await render(fmt, COLUMNS, ROWS))
    nulls = {f.get("name"): [v.get("null") for v in f.findall("{*}VALUES")] for f in root.findall(".//{*}FIELD")}
    assert nulls["inulls"] == [str(-(2**31))]
    assert nulls["ubvar"] == []
    assert nulls["bit"] == nulls["fc"] == []
    assert nulls["after"] == ([str(-(2**31))] if fmt == "votable/b" else [])


def _stil_value(text: str) -> Any:
    """A CSV cell as STIL writes it: arrays as ``(1, 2)``, nested for more dimensions."""
    if text.startswith("("):
        return _flat([_stil_value(t) for t in text.replace("(", " ").replace(")", " ").split(",")])
    text = text.strip().strip("\0")  # a NULL single char is a NUL byte in BINARY, which STIL shows
    for parse_number in (int, float):
        try:
            return _flat(parse_number(text))
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text, _flat(text))


def _stil_rows(path: Path) -> list[dict[str, Any]]:
    stilts = shutil.which("stilts")
    if stilts is None:
        pytest.skip("stilts is not installed (apt-get install stilts)")
    done = subprocess.run([stilts, "tpipe", f"in={path}", "ifmt=votable", "ofmt=csv"], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return [{k: _stil_value(v) for k, v in row.items()} for row in csv.DictReader(io.StringIO(done.stdout))]


@pytest.mark.slow
async def test_every_ingested_type_reads_back_with_stil(tmp_path: Path) -> None:
    readings = {}
    for fmt in VOTABLES:
        path = tmp_path / f"{fmt.replace('/', '_')}.vot"
        path.write_bytes(await render(fmt, COLUMNS, ROWS))
        readings[fmt] = _stil_rows(path)
        for row in readings[fmt]:  # STIL keeps the declared magic value of array elements as a number
            row["inulls"] = _flat([None if x == -(2**31) else x for x in row["inulls"] or []])
    for fmt, rows in readings.items():
        assert rows == [{c.name: _expected(v, c, fmt) for v, c in zip(row, COLUMNS, strict=True)} for row in ROWS], fmt


async def test_csv_writes_bits_as_digits_and_complex_numbers_as_two_parts() -> None:
    columns = [ResultColumn("b", "bit"), ResultColumn("bs", "bit", "3"), ResultColumn("c", "floatComplex"),
               ResultColumn("ca", "doubleComplex", "*"), ResultColumn("ia", "short", "*")]
    rows: list[Row] = [(True, [True, False, True], [0.1, -2.0], [1.0, 2.0, 3.0, 4.0], [1, None]),
                       (None, None, None, None, None)]
    document = (await render("csv", columns, rows)).decode()
    assert list(csv.reader(io.StringIO(document))) == [
        ["b", "bs", "c", "ca", "ia"],
        ["1", "1 0 1", "0.1 -2.0", "1.0 2.0 3.0 4.0", f"1 {-(2**15)}"],
        ["", "", "", "", ""],
    ]


async def test_json_writes_bits_as_booleans_and_complex_numbers_as_pairs() -> None:
    columns = [ResultColumn("b", "bit"), ResultColumn("bs", "bit", "2x2"), ResultColumn("c", "floatComplex"),
               ResultColumn("ca", "doubleComplex", "*"), ResultColumn("ia", "int", "2x2"),
               ResultColumn("one", "int", "1")]
    rows: list[Row] = [(False, [[True, False], [False, True]], [0.1, math.nan], [1.0, 2.0], [[1, None], [3, 4]], 7),
                       (None, None, None, None, None, None)]
    document = json.loads(await render("json", columns, rows))
    assert document["data"] == [
        [False, [True, False, False, True], [0.1, "NaN"], [1.0, 2.0], [1, None, 3, 4], 7],
        [None, None, None, None, None, None],
    ]
    assert document["status"] == "OK"


@pytest.mark.parametrize("fmt", ["csv", "tsv", "html", "json", *VOTABLES])
async def test_every_format_writes_every_ingested_type(fmt: str) -> None:
    writer = formats.get(fmt)
    writer.check(COLUMNS)
    document = await render(fmt, COLUMNS, ROWS)
    assert document.count(b"QUERY_STATUS") <= 1  # no trailing ERROR status: every value was written
