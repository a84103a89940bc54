"""STILTS checks our VOTables: ``votlint`` finds no error, and STIL reads back what astropy reads.

votlint 3.4.7 has two false positives that the documents here avoid on purpose, both for VOTable 1.3+
content it does not know: an empty ``<TD>`` (NULL) of a fixed-size integer array is "Wrong number of
elements" (float/boolean fixed arrays are written as ``NaN NaN`` / ``? ?`` instead), and any
non-empty BINARY/BINARY2 ``xtype="polygon"`` cell is "stream corruption" — STILTS' own BINARY2
output of a polygon fails its votlint too. Polygons are checked by reading them back.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from astropy.io.votable import parse

from jmmctap.results import ResultColumn
from tests.formats.streams import ALL_COLUMNS, ALL_ROWS, render
from tests.formats.test_votable import VOTABLES, _expected, _normalise

pytestmark = pytest.mark.skipif(shutil.which("stilts") is None, reason="Debian package stilts is not installed")

# the NULL row without a NULL fixed integer array (see the module docstring)
LINT_ROWS = [*ALL_ROWS[:2], (*[None] * 17, [0, 0], None), *ALL_ROWS[3:]]


def _stilts(*args: str) -> str:
    done = subprocess.run(["stilts", *args], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


@pytest.mark.parametrize("fmt", VOTABLES)
async def test_votlint_finds_no_error_in_any_datatype(fmt: str, tmp_path: Path) -> None:
    path = tmp_path / "result.xml"
    path.write_bytes(await render(fmt, ALL_COLUMNS, LINT_ROWS, overflowed=True))
    report = _stilts("votlint", f"votable={path}", "validate=true")
    assert [line for line in report.splitlines() if line.startswith("ERROR")] == []


@pytest.mark.parametrize("fmt", VOTABLES)
async def test_votlint_finds_no_error_after_a_mid_stream_failure(fmt: str, tmp_path: Path) -> None:
    from jmmctap.errors import ServiceError

    path = tmp_path / "result.xml"
    path.write_bytes(await render(fmt, ALL_COLUMNS, LINT_ROWS, batch=3, fail=ServiceError("lost")))
    report = _stilts("votlint", f"votable={path}", "validate=true")
    assert [line for line in report.splitlines() if line.startswith("ERROR")] == []


@pytest.mark.parametrize("fmt", VOTABLES)
async def test_stil_reads_what_we_wrote(fmt: str, tmp_path: Path) -> None:
    polygon = ResultColumn("poly", "double", "*", xtype="polygon")
    columns = [*ALL_COLUMNS, polygon]
    rows = [(*r, p) for r, p in zip(ALL_ROWS, [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [], None, [0.5] * 8], strict=True)]
    source, copy = tmp_path / "ours.xml", tmp_path / "stil.xml"
    source.write_bytes(await render(fmt, columns, rows))
    _stilts("tpipe", f"in={source}", "ifmt=votable", f"out={copy}", "ofmt=votable-tabledata")
    table = parse(io.BytesIO(copy.read_bytes())).get_first_table().array
    got = [[_normalise(table[c.name][i]) for c in columns] for i in range(len(table))]
    expected = [[_expected(v, c) for v, c in zip(row, columns, strict=True)] for row in rows]
    if fmt == "votable/b":  # STIL keeps BINARY's <VALUES null> for scalars only: the NULL short[2] is its magic value
        expected[2][ALL_COLUMNS.index(next(c for c in ALL_COLUMNS if c.name == "sa"))] = [-32768, -32768]
    assert got == expected
