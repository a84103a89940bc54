"""ingest-eso against the real database: rows, differential re-ingest, target grouping and the JSDC link."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from jmmctap.catalogues.eso_ingest import ingest_eso_files
from jmmctap.catalogues.targets import group_exposures, link_targets_to_jsdc
from tests.catalogues.conftest import ESO_DIR, GRAVITY_HEADER, OIFITS_DIR, eso_files
from tests.support.shared import needs_shared

GRAVITY_EXP_ID = "GRAVI.2016-06-23T03:10:17.458_1"


def _count(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # test-only constant names
    assert row is not None
    return int(row[0])


def test_every_eso_file_is_ingested(clean_catalogues: psycopg.Connection[Any]) -> None:
    conn = clean_catalogues
    report = ingest_eso_files(conn, eso_files())
    assert report.rejected == ()
    assert len(report.inserted) == 4 + 50  # four headers, fifty archive rows
    assert _count(conn, "obsportal.exposures") == 54
    assert _count(conn, "obsportal.baselines") == 6 * 3 + 3 + 50 * 3
    row = conn.execute(
        """SELECT interferometer_stations, instrument_name, instrument_mode, instrument_submode, obs_program,
                  exp_validation_level, exp_validation_log, exp_projected_baselines, target_id IS NOT NULL,
                  exp_date_release::date::text
           FROM obsportal.exposures WHERE exp_id = %s""", [GRAVITY_EXP_ID]).fetchone()
    assert row is not None
    assert row[:6] == ("A0 B2 D0 C1", "GRAVITY", "MEDIUM-COMBINED", "SINGLE", "60.A-9174(A)", 0)
    assert "Missing 'ARCFILE'" in json.loads(row[6])
    assert json.loads(row[7])["A0-B2"] == {"length": {"start": 24.166, "end": 24.168},
                                           "angle": {"start": 135.8, "end": 135.8}}
    assert row[8] is True
    assert row[9] == "2017-06-23"  # ESO: one year after the end of the exposure
    nrows = conn.execute("SELECT nrows FROM tap_schema.tables WHERE table_name = 'obsportal.exposures'").fetchone()
    assert nrows == (54,)
    log = conn.execute("SELECT n_rows, files FROM jmmctap.ingest_log WHERE table_name = 'obsportal.exposures'"
                       " ORDER BY id DESC LIMIT 1").fetchone()
    assert log is not None and log[0] == 54 and "amber_sgra_query.tbl" in log[1]


def test_gravity_baselines_are_stored_per_station_pair(clean_catalogues: psycopg.Connection[Any]) -> None:
    conn = clean_catalogues
    ingest_eso_files(conn, [GRAVITY_HEADER])
    rows = conn.execute("SELECT station1, station2, length_start, length_end, source FROM obsportal.baselines"
                        " WHERE exp_id = %s ORDER BY station1, station2", [GRAVITY_EXP_ID]).fetchall()
    stored = {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}
    assert stored[("A0", "B2")] == pytest.approx((24.166, 24.168, "header"))
    assert stored[("D0", "C1")] == pytest.approx((22.406, 22.406, "header"))
    assert len(stored) == 6


def test_reingest_updates_and_never_duplicates(clean_catalogues: psycopg.Connection[Any], tmp_path: Path) -> None:
    conn = clean_catalogues
    first = ingest_eso_files(conn, [GRAVITY_HEADER, ESO_DIR / "amber_sgra_query.tbl"])
    stamp = conn.execute("SELECT exp_date_updated FROM obsportal.exposures WHERE exp_id = %s",
                         [GRAVITY_EXP_ID]).fetchone()
    again = ingest_eso_files(conn, [GRAVITY_HEADER, ESO_DIR / "amber_sgra_query.tbl"])
    assert (len(first.inserted), len(again.inserted), len(again.updated), len(again.unchanged)) == (51, 0, 0, 51)
    assert _count(conn, "obsportal.exposures") == 51
    assert _count(conn, "obsportal.observations") == len(
        conn.execute("SELECT DISTINCT obs_id FROM obsportal.exposures").fetchall())
    assert conn.execute("SELECT exp_date_updated FROM obsportal.exposures WHERE exp_id = %s",
                        [GRAVITY_EXP_ID]).fetchone() == stamp
    # the same header with a corrected ambient temperature: one row updated, date refreshed
    edited = tmp_path / "gravity.hdr"
    edited.write_text(GRAVITY_HEADER.read_text().replace(
        "HIERARCH ESO ISS AMBI TEMP = 14.89 /", "HIERARCH ESO ISS AMBI TEMP = 15.89 /"))
    third = ingest_eso_files(conn, [edited])
    assert third.updated == (GRAVITY_EXP_ID,)
    row = conn.execute("SELECT exp_temperature, exp_date_updated > %s FROM obsportal.exposures WHERE exp_id = %s",
                       [stamp[0] if stamp else None, GRAVITY_EXP_ID]).fetchone()
    assert row == (15.89, True)
    assert _count(conn, "obsportal.exposures") == 51
    assert _count(conn, "obsportal.baselines") == 6 + 150


@needs_shared(OIFITS_DIR)
def test_fits_primary_and_header_dump_are_the_same_exposure(clean_catalogues: psycopg.Connection[Any]) -> None:
    conn = clean_catalogues
    ingest_eso_files(conn, [GRAVITY_HEADER])
    product = OIFITS_DIR / "GRAVI.2016-06-23T03-10-17.458_singlesciviscalibrated.fits"
    report = ingest_eso_files(conn, [product])
    assert report.updated == (GRAVITY_EXP_ID,)  # only exp_source differs
    assert _count(conn, "obsportal.exposures") == 1


@needs_shared(OIFITS_DIR)
def test_unusable_files_are_reported_not_stored(clean_catalogues: psycopg.Connection[Any]) -> None:
    conn = clean_catalogues
    report = ingest_eso_files(conn, [GRAVITY_HEADER, OIFITS_DIR / "2008-Contest_Binary.oifits"])
    assert report.inserted == (GRAVITY_EXP_ID,)
    assert report.rejected == (("2008-Contest_Binary.oifits",
                                "2008-Contest_Binary.oifits: not an exposure header: no ARCFILE or DP.ID, "
                                "and no INSTRUME with MJD-OBS to derive one"),)


def test_exposures_of_one_star_form_one_target(clean_catalogues: psycopg.Connection[Any]) -> None:
    conn = clean_catalogues
    ingest_eso_files(conn, eso_files())
    rows = conn.execute("""SELECT t.target_name, t.n_exposures, count(*)
                           FROM obsportal.targets t JOIN obsportal.exposures e USING (target_id)
                           GROUP BY t.target_id ORDER BY t.target_name NULLS FIRST""").fetchall()
    # GRAVITY 2016-01-09 has no OBJECT: its target keeps no name
    assert rows == [(None, 1, 1), ("GC_IRS7", 50, 50), ("HD45677", 1, 1), ("IRAS17216-3801", 1, 1),
                    ("V838_Mon", 1, 1)]
    centre = conn.execute("SELECT target_ra, target_dec FROM obsportal.targets WHERE target_name = 'GC_IRS7'")
    assert centre.fetchone() == pytest.approx((266.417056, -29.006140))


def test_grouping_radius_is_configurable(clean_catalogues: psycopg.Connection[Any]) -> None:
    conn = clean_catalogues
    ingest_eso_files(conn, eso_files(), radius_arcsec=5.0)
    assert _count(conn, "obsportal.targets") == 5
    conn.execute("UPDATE obsportal.exposures SET target_id = NULL")
    conn.execute("DELETE FROM obsportal.targets")
    group_exposures(conn, radius_arcsec=60 * 3600.0)
    # within 60 degrees: the three winter targets (RA 84-106) and the two bulge ones (RA 261-266)
    assert _count(conn, "obsportal.targets") == 2
    counts = conn.execute("SELECT n_exposures FROM obsportal.targets ORDER BY n_exposures").fetchall()
    assert counts == [(3,), (51,)]


def _add_star(conn: psycopg.Connection[Any], recno: int, name: str, ra: float, dec: float, ldd: float) -> None:
    conn.execute('INSERT INTO jsdc.jsdc_v2 (recno, "Name", "RAJ2000", "DEJ2000", "LDD") VALUES (%s, %s, %s, %s, %s)',
                 [recno, name, ra, dec, ldd])


def test_targets_link_to_the_closest_jsdc_star_and_flag_ambiguity(clean_catalogues: psycopg.Connection[Any]) -> None:
    conn = clean_catalogues
    ingest_eso_files(conn, [GRAVITY_HEADER, ESO_DIR / "MATISSE_2018-12-02_HD45677_primary.hdr"])
    # test stars (not catalogue data): one 2" from the GRAVITY pointing, two around the MATISSE one
    _add_star(conn, 1, "star near IRAS17216", 261.274746, -38.06696 + 2 / 3600, 2.5)
    _add_star(conn, 2, "first near HD45677", 97.071446, -13.05308 + 1 / 3600, 0.4)
    _add_star(conn, 3, "second near HD45677", 97.071446, -13.05308 - 3 / 3600, 0.5)
    _add_star(conn, 4, "far away", 97.071446, -13.05308 + 60 / 3600, 9.9)
    assert link_targets_to_jsdc(conn) == 2
    rows = conn.execute("""SELECT t.target_name, t.jsdc_recno, t.jsdc_candidates, t.jsdc_match,
                                  round(t.jsdc_separation::numeric, 3)
                           FROM obsportal.targets t ORDER BY t.target_name""").fetchall()
    assert rows == [("HD45677", 2, 2, "ambiguous", pytest.approx(1.0, abs=1e-3)),
                    ("IRAS17216-3801", 1, 1, "unique", pytest.approx(2.0, abs=1e-3))]
    assert link_targets_to_jsdc(conn) == 0  # nothing changed
    # the query the issue asks for: exposures of stars with LDD > 2 mas, one join chain
    hits = conn.execute("""SELECT e.exp_id FROM obsportal.exposures e
                           JOIN obsportal.targets t ON t.target_id = e.target_id
                           JOIN jsdc.jsdc_v2 j ON j.recno = t.jsdc_recno
                           WHERE j."LDD" > 2""").fetchall()
    assert hits == [(GRAVITY_EXP_ID,)]
