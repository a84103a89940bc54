"""ingest-jsdc: VizieR II/346 tables (VOTable and FITS) and SearchCal files into jsdc.jsdc_v2, linked to targets.

The VizieR-layout files are written here with II/346's column labels and units (its ReadMe), filled
with the real SearchCal values of three stars from the JMDC file's SearchCal cross-match: Achernar,
ε Aur and GC IRS 7 (no diameter: II/346 allows a null LDD). GC IRS 7 lies 1.4" from the pointing of
the fifty AMBER exposures of the ESO archive sample, so its target must link to it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.io.votable import from_table
from astropy.table import Table

from jmmctap.catalogues.eso_ingest import ingest_eso_files
from jmmctap.catalogues.jsdc_ingest import JsdcFile, ingest_jsdc_files
from jmmctap.ingest import IngestError
from jmmctap.settings import Settings
from tests.catalogues.conftest import ESO_DIR
from tests.conftest import server_env
from tests.support.shared import SAMPLES, SHARED, needs_shared

JMDC_FITS = Path(__file__).parents[1] / "data" / "jmdc" / "JMDC_final_lddUpdated-3stars.fits"
"""The JMDC rows of the three STARS (tests/data/README.md: derived from the shared JMDC FITS)."""
TRUNCATED = SHARED / "data" / "oifits" / "corrupted" / "testdata_opt_TRUNC.fits"
SEARCHCAL_SAMPLE = Path(__file__).parents[2] / "ingest" / "samples" / "jsdc" / "getstar-Sirius.vot"
STARS = {"HD10144": 11, "HD31964": 12, "2MASS J17454004-2900225": 13}
"""JMDC ID1 → the recno the test gives it."""
CALFLAG = {"HD10144": 0, "HD31964": 4, "2MASS J17454004-2900225": 0}
"""II/346 note 3: bit 2 for ε Aur's Al*/SB* object types; no LDDCHI above 5, no WDS pair closer than 1"."""
# II/346 label ← SearchCal column of the JMDC file, with the II/346 unit
MAGNITUDES = [(band, band.upper(), f"E_{band.upper()}" if band in "BVJHKLMN" else None) for band in "BVRIJHKLMN"]
UDD_BANDS = "BVRIJHKLMN"


def _searchcal_rows() -> dict[str, Any]:
    data = fits.getdata(JMDC_FITS, 1)
    rows = {}
    for star in STARS:
        index = int(np.flatnonzero(np.char.strip(data["ID1"]) == star)[0])
        rows[star] = data[index]
    return rows


def _vizier_table(recno: bool = True) -> Table:
    """Three stars in VizieR II/346's layout: sexagesimal position, magnitudes, LDD, UDDs."""
    rows = _searchcal_rows()
    table = Table()
    if recno:
        table["recno"] = np.array([STARS[s] for s in rows], dtype=np.int32)
    table["Name"] = list(rows)
    table["RAJ2000"] = [r["RAJ2000"].strip() for r in rows.values()]
    table["DEJ2000"] = [r["DEJ2000"].strip() for r in rows.values()]
    table["SpType"] = [r["SPTYPE"].strip() for r in rows.values()]
    for band, source, error in MAGNITUDES:
        table[f"{band}mag"] = np.array([r[source] for r in rows.values()], dtype=float)
        table[f"{band}mag"].unit = "mag"
        if error:
            table[f"e_{band}mag"] = np.array([r[error] for r in rows.values()], dtype=float)
            table[f"e_{band}mag"].unit = "mag"
    table["LDD"] = np.array([r["LDD"] for r in rows.values()], dtype=float)
    table["e_LDD"] = np.array([r["E_LDD"] for r in rows.values()], dtype=float)
    table["LDDCHI"] = np.array([r["DIAM_CHI2"] for r in rows.values()], dtype=float)
    table["CalFlag"] = np.array([CALFLAG[s] for s in rows], dtype=np.int16)
    for band in UDD_BANDS:
        table[f"UDD{band}"] = np.array([r[f"UD_{band}"] for r in rows.values()], dtype=float)
        table[f"UDD{band}"].unit = "mas"
    for column in ("LDD", "e_LDD"):
        table[column].unit = "mas"
    table["Simbad"] = ["Simbad"] * len(rows)  # VizieR's link column: not a JSDC value, ignored
    return table


def _write(table: Table, path: Path, serialization: str) -> Path:
    if serialization == "fits":
        table.write(path.with_suffix(".fits"), format="fits", overwrite=True)
        return path.with_suffix(".fits")
    votable = from_table(table)
    fields = {f.name: f for f in votable.get_first_table().fields}
    fields["RAJ2000"].ucd, fields["RAJ2000"].unit = "pos.eq.ra;meta.main", '"h:m:s"'
    fields["DEJ2000"].ucd, fields["DEJ2000"].unit = "pos.eq.dec;meta.main", '"d:m:s"'
    votable.to_xml(str(path.with_suffix(".vot")), tabledata_format=serialization)
    return path.with_suffix(".vot")


def _jsdc(conn: psycopg.Connection[Any]) -> dict[int, tuple[Any, ...]]:
    rows = conn.execute('SELECT recno, "Name", "RAJ2000", "DEJ2000", "SpType", "Vmag", "e_Kmag", "LDD", "e_LDD",'
                        ' "LDDCHI", "CalFlag", "UDDN", "Vmag_origin" FROM jsdc.jsdc_v2 ORDER BY recno').fetchall()
    return {row[0]: row[1:] for row in rows}


@pytest.mark.parametrize("serialization", ["tabledata", "binary2", "fits"])
def test_vizier_jsdc_loads_its_values_and_links_the_exposure_targets(
        clean_catalogues: psycopg.Connection[Any], tmp_path: Path, serialization: str) -> None:
    conn = clean_catalogues
    ingest_eso_files(conn, [ESO_DIR / "amber_sgra_query.tbl"])
    path = _write(_vizier_table(), tmp_path / "II_346", serialization)
    report = ingest_jsdc_files(conn, [JsdcFile(path)])
    assert report.rows == 3 and report.removed == 0 and report.linked_targets == 1
    stars = _jsdc(conn)
    assert sorted(stars) == sorted(STARS.values())
    for name, row in _searchcal_rows().items():
        loaded = stars[STARS[name]]
        position = SkyCoord(row["RAJ2000"], row["DEJ2000"], unit=("hourangle", "deg"))
        assert loaded[0] == name
        assert loaded[1] == pytest.approx(position.ra.deg, abs=1e-9)
        assert loaded[2] == pytest.approx(position.dec.deg, abs=1e-9)
        assert loaded[3] == row["SPTYPE"].strip()
        for value, expected in zip(loaded[4:9], (row["V"], row["E_K"], row["LDD"], row["E_LDD"], row["DIAM_CHI2"]),
                                   strict=True):
            assert (value is None) if np.isnan(expected) else value == pytest.approx(expected, rel=1e-6)
        assert loaded[9] == CALFLAG[name]
        assert loaded[11] is None  # II/346 has no origin: none is made up
    (recno, separation, match, exposures) = conn.execute(
        """SELECT t.jsdc_recno, t.jsdc_separation, t.jsdc_match, count(e.exp_id)
           FROM obsportal.targets t JOIN obsportal.exposures e ON e.target_id = t.target_id
           GROUP BY t.target_id""").fetchone()  # type: ignore[misc]
    assert (recno, match, exposures) == (STARS["2MASS J17454004-2900225"], "unique", 50)
    assert separation == pytest.approx(1.4, abs=0.1)
    (mode, files, n_rows) = conn.execute("SELECT mode, files, n_rows FROM jmmctap.ingest_log"
                                         " WHERE table_name = 'jsdc.jsdc_v2' ORDER BY id DESC LIMIT 1").fetchone()  # type: ignore[misc]
    assert (mode, files, n_rows) == ("update", [path.name], 3)
    assert conn.execute("SELECT nrows FROM tap_schema.tables WHERE table_name = 'jsdc.jsdc_v2'").fetchone() == (3,)


def test_loading_again_updates_in_place_and_replace_drops_the_missing_stars(
        clean_catalogues: psycopg.Connection[Any], tmp_path: Path) -> None:
    conn = clean_catalogues
    ingest_eso_files(conn, [ESO_DIR / "amber_sgra_query.tbl"])
    table = _vizier_table()
    ingest_jsdc_files(conn, [JsdcFile(_write(table, tmp_path / "first", "tabledata"))])
    table["LDD"][0] = 1.5
    again = ingest_jsdc_files(conn, [JsdcFile(_write(table, tmp_path / "second", "tabledata"))])
    assert again.rows == 3 and again.linked_targets == 0
    stars = _jsdc(conn)
    assert len(stars) == 3 and stars[STARS["HD10144"]][6] == 1.5
    replaced = ingest_jsdc_files(conn, [JsdcFile(_write(table[:1], tmp_path / "third", "tabledata"))], mode="replace")
    assert (replaced.rows, replaced.removed, replaced.linked_targets) == (1, 2, 1)
    assert list(_jsdc(conn)) == [STARS["HD10144"]]
    assert conn.execute("SELECT jsdc_recno, jsdc_match FROM obsportal.targets").fetchall() == [(None, None)]


def test_files_without_recno_are_numbered_from_first_recno_across_files(
        clean_catalogues: psycopg.Connection[Any], tmp_path: Path) -> None:
    conn = clean_catalogues
    path = _write(_vizier_table(recno=False), tmp_path / "norecno", "tabledata")
    with pytest.raises(IngestError, match=r"norecno\.vot: the file has no recno column.*--first-recno"):
        ingest_jsdc_files(conn, [JsdcFile(path)])
    report = ingest_jsdc_files(conn, [JsdcFile(path, 100), JsdcFile(SEARCHCAL_SAMPLE)])
    assert report.rows == 4
    stars = _jsdc(conn)
    assert sorted(stars) == [100, 101, 102, 103]
    assert stars[103][0] == "TYC 5949-2777-1" and stars[103][11] is not None  # GetStar's Sirius, with its origins


def test_a_typed_file_whose_datatypes_differ_from_the_columns_loads_the_same(
        clean_catalogues: psycopg.Connection[Any], tmp_path: Path) -> None:
    # CalFlag as int and magnitudes as float: no binary COPY as they are, the values must still arrive
    table = _vizier_table()
    table["CalFlag"] = table["CalFlag"].astype(np.int32)
    table["Vmag"] = table["Vmag"].astype(np.float32)
    ingest_jsdc_files(clean_catalogues, [JsdcFile(_write(_vizier_table(), tmp_path / "same", "binary2"))])
    expected = _jsdc(clean_catalogues)
    ingest_jsdc_files(clean_catalogues, [JsdcFile(_write(table, tmp_path / "other", "binary2"))])
    assert _jsdc(clean_catalogues) == expected


def _broken(table: Table, column: str, value: object) -> Table:
    broken = table.copy()
    if broken[column].dtype.kind in "US":
        broken[column] = broken[column].astype(object)
    broken[column][1] = value
    return broken


@pytest.mark.parametrize("serialization", ["tabledata", "binary2"])  # text and binary COPY
@pytest.mark.parametrize(("column", "value", "message"), [
    ("RAJ2000", "12 xx 00", r"row 2, column 'RAJ2000': unreadable angle"),
    ("DEJ2000", "+95 00 00", r"row 2, column 'DEJ2000': no valid position"),
    ("CalFlag", 9, r"row 2.*CalFlag"),
    ("Vmag", 1e39, r"recno 12: Vmag = 1e\+39 is out of range"),
    ("recno", 11, r"recno 11 appears 2 times"),
])
def test_a_bad_row_is_refused_and_changes_nothing(clean_catalogues: psycopg.Connection[Any], tmp_path: Path,
                                                  column: str, value: object, message: str, serialization: str) -> None:
    conn = clean_catalogues
    ingest_jsdc_files(conn, [JsdcFile(SEARCHCAL_SAMPLE, 1)])
    before, logged = _jsdc(conn), conn.execute("SELECT count(*) FROM jmmctap.ingest_log").fetchone()
    path = _write(_broken(_vizier_table(), column, value), tmp_path / "broken", serialization)
    with pytest.raises(IngestError, match=message):
        ingest_jsdc_files(conn, [JsdcFile(path)])
    assert _jsdc(conn) == before
    assert conn.execute("SELECT count(*) FROM jmmctap.ingest_log").fetchone() == logged


@pytest.mark.parametrize(("path", "message"), [
    (SAMPLES / "obsportal/obsportal-search-gravity.votable.xml", r"not a JSDC table.*missing Name, LDD"),
    pytest.param(TRUNCATED, r"testdata_opt_TRUNC\.fits", marks=needs_shared(TRUNCATED)),
    (SAMPLES / "eso/amber_sgra_query.tbl", r"amber_sgra_query\.tbl: malformed XML"),
])
def test_a_file_that_is_not_a_jsdc_table_is_refused(
        clean_catalogues: psycopg.Connection[Any], path: Path, message: str) -> None:
    with pytest.raises(IngestError, match=message):
        ingest_jsdc_files(clean_catalogues, [JsdcFile(path, 1)])
    assert _jsdc(clean_catalogues) == {}


def test_ingest_jsdc_command_reports_the_load_and_fails_in_one_line(
        clean_catalogues: psycopg.Connection[Any], settings: Settings, tmp_path: Path) -> None:
    path = _write(_vizier_table(), tmp_path / "II_346", "binary2")
    command = [sys.executable, "-m", "jmmctap.cli", "ingest-jsdc"]
    done = subprocess.run([*command, str(path)], env=server_env(settings), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "jsdc.jsdc_v2: 3 stars loaded from 1 file(s)" in done.stdout
    failed = subprocess.run([*command, str(SEARCHCAL_SAMPLE)], env=server_env(settings), capture_output=True,
                            text=True, timeout=120)
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines() == [
        f"jmmctap: error: {SEARCHCAL_SAMPLE}: the file has no recno column: give the record number of its first"
        " row (--first-recno)"]


@pytest.mark.parametrize(("cell", "bad", "message"), [
    ("<TD>03 47 29.0762</TD>", "03 xx 29", r"row 1, column 'RAJ2000': unreadable angle '03 xx 29'"),
    ("<TD>+24 06 18.4788</TD>", "+95 00 00", r"row 1, column 'DEJ2000': no valid position \('\+95 00 00'\)"),
])
def test_a_searchcal_file_with_a_bad_position_is_refused_and_changes_nothing(
        clean_catalogues: psycopg.Connection[Any], tmp_path: Path, cell: str, bad: str, message: str) -> None:
    sample = SEARCHCAL_SAMPLE.with_name("SearchCal-ETA_TAU-first120.scvot")
    broken = tmp_path / "broken.scvot"
    broken.write_text(sample.read_text().replace(cell, f"<TD>{bad}</TD>", 1))
    ingest_jsdc_files(clean_catalogues, [JsdcFile(SEARCHCAL_SAMPLE, 1)])
    with pytest.raises(IngestError, match=rf"broken\.scvot, {message}"):
        ingest_jsdc_files(clean_catalogues, [JsdcFile(broken, 10)])
    assert list(_jsdc(clean_catalogues)) == [1]
