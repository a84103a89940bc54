"""ingest-oifits against the real database: reference granules as stored rows, re-ingest, embargo, ObsCore rules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from jmmctap.catalogues.embargo import Embargo
from jmmctap.catalogues.eso_ingest import ingest_eso_files
from jmmctap.catalogues.instruments import KNOWN_INSTRUMENTS
from jmmctap.catalogues.obscore_l0 import derive_l0_granules
from jmmctap.catalogues.obscore_store import GranuleOptions
from jmmctap.catalogues.oifits_ingest import ingest_oifits_files
from jmmctap.products.catalog import ProductPublisher
from jmmctap.products.store import DirectoryStore
from tests.catalogues.conftest import ESO_DIR, GRAVITY_HEADER, OIFITS_DIR, OIMODELER_DIR, oifits_files, oimodeler_files
from tests.catalogues.reference import key, product_of, read_reference, reference_files, stored_differences, stored_key
from tests.support.shared import SAMPLES, needs_shared

GRAVITY_FILE = OIFITS_DIR / "GRAVI.2016-06-23T03-10-17.458_singlesciviscalibrated.fits"
MATISSE_FILE = SAMPLES / "oifits" / "MATISSE_2018-12-02T062655_HD45677_A0B2J2C1_IR-LM_LOW_Chop_cal_oifits_0.fits"
MANDATORY = ("dataproduct_type", "calib_level", "obs_collection", "obs_id", "obs_publisher_did", "access_url",
             "access_format", "access_estsize", "target_name", "s_ra", "s_dec", "s_fov", "s_region", "s_resolution",
             "s_xel1", "s_xel2", "t_min", "t_max", "t_exptime", "t_resolution", "t_xel", "em_min", "em_max",
             "em_res_power", "em_xel", "o_ucd", "pol_states", "pol_xel", "facility_name", "instrument_name")
UNKNOWN_INSTRUMENTS = ("NPOI_2004-01-07", "COAST_NICMOS", "AMBER-like", "H_PRISM")
"""INSNAMEs (or their start) of the shared files that name no instrument (NPOI and COAST setups, eps Aur's
26 MIRC setups H_PRISM_v1..., a synthetic file without INSTRUME): their instrument_name stays the INSNAME,
and the ingest report says so."""
DATAPRODUCT_TYPES = {"image", "cube", "spectrum", "sed", "timeseries", "visibility", "event", "measurements"}


def _rows(conn: psycopg.Connection[Any], where: str = "true", params: tuple[object, ...] = ()) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(f"SELECT * FROM ivoa.obscore WHERE {where} ORDER BY id", params).fetchall()  # test SQL


@needs_shared(OIFITS_DIR)
def test_stored_granules_reproduce_the_five_reference_files(clean_catalogues: psycopg.Connection[Any]) -> None:
    conn = clean_catalogues
    report = ingest_oifits_files(conn, [product_of(r) for r in reference_files()], GranuleOptions("references"))
    assert report.rejected == ()
    for reference in reference_files():
        expected = read_reference(reference)
        stored = {stored_key(r): r for r in _rows(conn, "access_md5 IS NOT NULL AND obs_id = %s",
                                                 (product_of(reference).name.rsplit(".", 1)[0],))}
        assert len(stored) == len(expected), reference.name
        for row in expected:
            assert stored_differences(row, stored[key(dict(row))]) == [], reference.name


@needs_shared(OIFITS_DIR)
def test_reingest_updates_in_place(clean_catalogues: psycopg.Connection[Any]) -> None:
    conn = clean_catalogues
    first = ingest_oifits_files(conn, [GRAVITY_FILE, MATISSE_FILE], GranuleOptions("c1"))
    dids = {r["id"]: r["obs_publisher_did"] for r in _rows(conn)}
    again = ingest_oifits_files(conn, [GRAVITY_FILE, MATISSE_FILE], GranuleOptions("c1", keywords="again"))
    assert sorted(again.granule_ids) == sorted(first.granule_ids) == sorted(dids)
    rows = _rows(conn)
    assert len(rows) == 3
    assert {r["id"]: r["obs_publisher_did"] for r in rows} == dids
    assert {r["keywords"] for r in rows} == {"again"}
    # another collection is another set of granules
    ingest_oifits_files(conn, [GRAVITY_FILE], GranuleOptions("c2"))
    assert len(_rows(conn)) == 5
    nrows = conn.execute("SELECT nrows FROM tap_schema.tables WHERE table_name = 'ivoa.obscore'").fetchone()
    assert nrows == (5,)


@needs_shared(OIFITS_DIR)
def test_corrupted_files_are_rejected_and_leave_no_row(clean_catalogues: psycopg.Connection[Any]) -> None:
    conn = clean_catalogues
    corrupted = sorted((OIFITS_DIR / "corrupted").iterdir())
    report = ingest_oifits_files(conn, [*corrupted, GRAVITY_FILE], GranuleOptions("c"))
    assert [name for name, _ in report.rejected] == [p.name for p in corrupted]
    assert all(reason.startswith(f"{name}: ") for name, reason in report.rejected)
    assert report.files == (GRAVITY_FILE.name,)
    assert len(_rows(conn)) == 2


@needs_shared(OIFITS_DIR)
def test_release_date_follows_oidb_and_rights_follow_the_release_date(
        clean_catalogues: psycopg.Connection[Any]) -> None:
    conn = clean_catalogues
    eso = GranuleOptions("eso_collection", embargo=Embargo(1))
    ingest_oifits_files(conn, [MATISSE_FILE, GRAVITY_FILE], eso)
    matisse = _rows(conn, "obs_id = %s", ("MATIS.2018-12-02T06:47:52.034",))
    assert len(matisse) == 1
    # science product (PRO SCIENCE = T): released one year after the last MJD, so public today
    assert matisse[0]["dataproduct_category"] == "SCIENCE"
    assert matisse[0]["obs_release_date"].date().isoformat() == "2019-12-02"
    assert matisse[0]["data_rights"] == "public"
    gravity = _rows(conn, "instrument_mode = 'GRAVITY_SC'")
    # calibrator product (PRO SCIENCE = F): OiDB forces the embargo to zero
    assert (gravity[0]["dataproduct_category"], gravity[0]["data_rights"]) == ("CALIB", "public")
    assert gravity[0]["obs_release_date"].date().isoformat() == "2016-06-23"
    # a collection release date is a lower bound; before it the rows are proprietary
    late = datetime(2030, 1, 1, tzinfo=UTC)
    ingest_oifits_files(conn, [MATISSE_FILE], GranuleOptions("later", embargo=Embargo(1), collection_release=late))
    (later,) = _rows(conn, "obs_collection = 'later'")
    assert (later["obs_release_date"], later["data_rights"]) == (late, "proprietary")


@needs_shared(OIFITS_DIR)
def test_obscore_rows_follow_the_obscore_rules(clean_catalogues: psycopg.Connection[Any]) -> None:
    conn = clean_catalogues
    ingest_oifits_files(conn, oifits_files(), GranuleOptions("all", access_url_base="https://example.org/oifits/"))
    ingest_eso_files(conn, sorted(ESO_DIR.iterdir()), derive_l0=derive_l0_granules)
    rows = _rows(conn)
    columns = set(rows[0])
    assert set(MANDATORY) <= columns
    for row in rows:
        for name in ("calib_level", "obs_collection", "obs_id", "obs_publisher_did"):
            assert row[name] is not None, name
        assert 0 <= row["calib_level"] <= 4
        assert row["dataproduct_type"] in DATAPRODUCT_TYPES
        assert row["obs_publisher_did"] == f"ivo://jmmc.fr/oidb?{row['id']}"
        assert row["t_min"] <= row["t_max"]
        assert row["em_min"] is None or row["em_min"] <= row["em_max"]
        assert row["s_ra"] is None or 0 <= row["s_ra"] < 360
        assert row["s_dec"] is None or -90 <= row["s_dec"] <= 90
        assert row["data_rights"] in {"public", "secure", "proprietary"}
        assert row["obs_release_date"] is not None  # NULL would mean proprietary forever (ObsCore B.4.5)
        released = row["obs_release_date"] <= datetime.now(UTC)
        assert row["data_rights"] == ("public" if released else "proprietary"), row["obs_id"]
        assert row["access_format"] in {"application/x-oifits", "text/html"}
    dids = [r["obs_publisher_did"] for r in rows]
    assert len(dids) == len(set(dids))
    oifits = [r for r in rows if r["calib_level"] == 2]
    assert all(r["access_url"].startswith("https://example.org/oifits/") for r in oifits)
    # the s_region circle contains the target and is usable by pgSphere predicates
    inside = conn.execute("SELECT count(*) FROM ivoa.obscore WHERE s_region IS NOT NULL"
                          " AND spoint(radians(s_ra), radians(s_dec)) @ s_region").fetchone()
    with_region = conn.execute("SELECT count(*) FROM ivoa.obscore WHERE s_region IS NOT NULL").fetchone()
    assert inside == with_region and with_region is not None and with_region[0] > 0


def test_l0_granules_are_derived_from_exposures(clean_catalogues: psycopg.Connection[Any]) -> None:
    conn = clean_catalogues
    report = ingest_eso_files(conn, [GRAVITY_HEADER, ESO_DIR / "amber_sgra_query.tbl"], derive_l0=derive_l0_granules)
    assert report.l0_granules == 51
    (gravity,) = _rows(conn, "calib_level = 0 AND obs_id = %s", ("GRAVI.2016-06-23T03:10:17.458",))
    assert gravity["obs_collection"] == "eso_vlti_import"
    assert gravity["instrument_mode"] == "MEDIUM-COMBINED_SINGLE"
    assert gravity["interferometer_stations"] == "A0 B2 D0 C1"
    assert gravity["t_exptime"] == pytest.approx(300.0, abs=1e-3)
    assert gravity["nb_channels"] == -1
    assert gravity["obs_release_date"].date().isoformat() == "2017-06-23"
    assert gravity["data_rights"] == "public"  # released in 2017 (OiDB said 'secure' forever)
    assert gravity["access_url"] == ("http://archive.eso.org/wdb/wdb/eso/eso_archive_main/query"
                                     "?dp_id=GRAVI.2016-06-23T03:10:17.458")
    assert gravity["em_min"] == pytest.approx(1.9678e-6)
    # re-ingesting changes nothing
    again = ingest_eso_files(conn, [GRAVITY_HEADER], derive_l0=derive_l0_granules)
    assert again.l0_granules == 0
    assert len(_rows(conn, "calib_level = 0")) == 51
    # the L0 log and the OIFITS product of one exposure share obs_id (ObsCore 4.4): the ARCFILE
    ingest_eso_files(conn, [ESO_DIR / "MATISSE_2018-12-02_HD45677_primary.hdr"], derive_l0=derive_l0_granules)
    ingest_oifits_files(conn, [MATISSE_FILE], GranuleOptions("matisse"))
    levels = conn.execute("SELECT array_agg(calib_level ORDER BY calib_level) FROM ivoa.obscore WHERE obs_id = %s",
                          ["MATIS.2018-12-02T06:47:52.034"]).fetchone()
    assert levels == ([0, 2],)


def test_edited_exposure_updates_its_l0_granule(clean_catalogues: psycopg.Connection[Any], tmp_path: Path) -> None:
    conn = clean_catalogues
    ingest_eso_files(conn, [GRAVITY_HEADER], derive_l0=derive_l0_granules)
    edited = tmp_path / "gravity.hdr"
    edited.write_text(GRAVITY_HEADER.read_text().replace("INS SPEC RES = 'MEDIUM  '", "INS SPEC RES = 'HIGH    '"))
    report = ingest_eso_files(conn, [edited], derive_l0=derive_l0_granules)
    assert report.l0_granules == 1
    modes = [r["instrument_mode"] for r in _rows(conn, "calib_level = 0")]
    assert modes == ["HIGH-COMBINED_SINGLE"]


@needs_shared(OIFITS_DIR)
def test_s_region_is_the_polygon_inscribed_in_the_field_of_view(clean_catalogues: psycopg.Connection[Any]) -> None:
    conn = clean_catalogues
    ingest_oifits_files(conn, [GRAVITY_FILE], GranuleOptions("fov"))
    row = conn.execute("""SELECT s_fov, npoints(s_region), degrees(spoint(radians(s_ra), radians(s_dec))
                                 <-> spoint(radians(v[1]), radians(v[2]))) * 2
                          FROM ivoa.obscore, jmmctap_adql.polygon_array(s_region) AS v
                          WHERE instrument_mode = 'GRAVITY_SC'""").fetchone()
    assert row is not None
    fov, vertices, diameter = row
    # 2.45 um over the 1.8 m ATs
    assert fov == pytest.approx(2.4500000108673703e-06 / 1.7999999523162842 * 180 / 3.141592653589793)
    assert vertices == 16
    assert diameter == pytest.approx(fov, rel=1e-6)


@needs_shared(OIFITS_DIR, OIMODELER_DIR)
def test_every_shared_file_gives_truthful_granules_and_reingest_changes_nothing(
        clean_catalogues: psycopg.Connection[Any], tmp_path: Path) -> None:
    conn = clean_catalogues
    files = oifits_files() + oimodeler_files()
    assert len(oimodeler_files()) == 47
    kept = ProductPublisher(DirectoryStore(tmp_path / "products"), "http://data.example")  # as ingest-oifits keeps them
    first = ingest_oifits_files(conn, files, GranuleOptions("all", embargo=Embargo(1)), products=kept)
    assert first.rejected == ()
    rows = _rows(conn)
    assert len(rows) == len(first.granule_ids) == len(set(first.granule_ids))
    now = datetime.now(UTC)
    for row in rows:
        assert row["s_region"] is not None and row["s_fov"] > 0, row["obs_id"]
        assert str(row["access_url"]).startswith("http://data.example/products/"), row["obs_id"]
        assert row["access_format"] == "application/x-oifits" and row["access_estsize"] > 0, row["obs_id"]
        assert row["data_rights"] == ("public" if row["obs_release_date"] <= now else "proprietary"), row["obs_id"]
        if row["instrument_name"] not in KNOWN_INSTRUMENTS.values():
            assert row["instrument_name"] == row["instrument_mode"]
            assert str(row["instrument_mode"]).startswith(UNKNOWN_INSTRUMENTS)
            assert any(f"/ {row['instrument_mode']} night" in flag and "no known instrument" in flag
                       for flag in first.flags)
        assert row["t_exptime"] is None or 0 < row["t_exptime"] <= 15 * 3600
    pionier = [r for r in rows if str(r["instrument_mode"]).startswith("PIONIER")]
    assert len(pionier) == 18 + 1 + 2 + 25 + 11 + 3 + 1 and {r["instrument_name"] for r in pionier} == {"PIONIER"}
    # the implausible exposure times are reported, file and granule named, and not stored
    assert any(flag.startswith("2012-03-24_ALL_oiDataCalib.fits: HD100546 / PIONIER_Pnat") and "t_exptime" in flag
               and "longer than a night" in flag for flag in first.flags)
    again = ingest_oifits_files(conn, files, GranuleOptions("all", embargo=Embargo(1)), products=kept)
    assert sorted(again.granule_ids) == sorted(first.granule_ids)
    assert _rows(conn) == rows
