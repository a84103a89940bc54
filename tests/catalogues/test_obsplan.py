"""ivoa.obsplan (ObsLocTAP 1.0): executed observations derived from obsportal, planned ones from Aspro2 OB exports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from jmmctap.catalogues.eso_ingest import ingest_eso_files
from jmmctap.catalogues.obsplan_ingest import ingest_plan_files
from jmmctap.errors import UsageError
from tests.catalogues.conftest import ESO_DIR
from tests.support.shared import SAMPLES

PLAN = sorted((SAMPLES / "plan").glob("*.obx"))
HD_1234 = SAMPLES / "plan" / "SCI_HD_1234_AMBER_A1-G1-I1_Low_JHK_noFT_2011-10-15.obx"
GRAVITY_EXPORT = SAMPLES / "obsportal" / "obsportal-search-gravity.votable.xml"
AMBER_QUERY = ESO_DIR / "amber_sgra_query.tbl"


def _rows(conn: psycopg.Connection[Any], where: str = "true") -> list[dict[str, Any]]:
    cursor = conn.execute(f"SELECT * FROM ivoa.obsplan WHERE {where} ORDER BY obs_id")  # where: literals of the tests
    names = [c.name for c in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _mjd(text: str) -> float:
    since = datetime.fromisoformat(text).replace(tzinfo=UTC) - datetime(1858, 11, 17, tzinfo=UTC)
    return since.total_seconds() / 86400


def test_each_exported_exposure_is_a_performed_observation_with_its_times(
        clean_catalogues: psycopg.Connection[Any]) -> None:
    ingest_eso_files(clean_catalogues, [GRAVITY_EXPORT])
    rows = _rows(clean_catalogues)
    exposures = clean_catalogues.execute(
        "SELECT exp_header_id, exp_mjd_start, exp_mjd_end, exp_exptime, target_name, target_ra, instrument_name"
        " FROM obsportal.exposures ORDER BY exp_header_id").fetchall()
    assert len(rows) == len(exposures) == 8
    for row, (header_id, start, end, exptime, target, ra, instrument) in zip(rows, exposures, strict=True):
        assert (row["obs_id"], row["t_min"], row["t_max"], row["t_exptime"]) == (header_id, start, end, exptime)
        assert (row["target_name"], row["s_ra"], row["instrument_name"]) == (target, ra, instrument)
        assert (row["facility_name"], row["obs_collection"], row["execution_status"]) == (
            "VLTI", "eso_vlti_import", "Performed")
        assert (row["category"], row["priority"], row["tracking_type"]) == ("Other", 0, "Sidereal")
        assert row["em_min"] < row["em_max"] and row["t_planning"] > _mjd("2026-01-01T00:00:00")


def test_the_exposures_of_one_executed_ob_make_one_observation(clean_catalogues: psycopg.Connection[Any]) -> None:
    # the ESO archive query of AMBER GC IRS 7: exposures of several templates of one OB
    ingest_eso_files(clean_catalogues, [AMBER_QUERY])
    per_ob = clean_catalogues.execute(
        "SELECT obs_id, min(exp_mjd_start), max(coalesce(exp_mjd_start + exp_exptime / 86400, exp_mjd_start)),"
        " sum(exp_exptime), min(exp_header_id)"
        " FROM obsportal.exposures GROUP BY obs_id ORDER BY 5").fetchall()
    rows = _rows(clean_catalogues)
    (exposures,) = clean_catalogues.execute("SELECT count(*) FROM obsportal.exposures").fetchone()  # type: ignore[misc]
    assert len(rows) == len(per_ob) < exposures
    # the archive rows have no end: an exposure lasts its exposure time (when known)
    for row, (_, start, end, exptime, first) in zip(rows, per_ob, strict=True):
        assert (row["obs_id"], row["t_min"], row["t_max"]) == (first, start, pytest.approx(end))
        assert row["t_exptime"] == pytest.approx((end - start) * 86400 if exptime is None else exptime, abs=1e-3)


def test_obsplan_follows_obsportal_without_a_copy(clean_catalogues: psycopg.Connection[Any]) -> None:
    ingest_eso_files(clean_catalogues, [GRAVITY_EXPORT])
    assert len(_rows(clean_catalogues, "execution_status = 'Performed'")) == 8
    clean_catalogues.execute("DELETE FROM obsportal.exposures WHERE exp_header_id = 'GRAVI.2020-01-09T03:34:07.546'")
    assert len(_rows(clean_catalogues, "execution_status = 'Performed'")) == 7


def test_a_plan_gives_planned_windows_at_paranal(clean_catalogues: psycopg.Connection[Any]) -> None:
    report = ingest_plan_files(clean_catalogues, PLAN)
    assert len(report.inserted) == 2
    rows = _rows(clean_catalogues)
    assert [r["obs_id"] for r in rows] == [p.stem for p in PLAN]
    hd = rows[0]
    assert (hd["target_name"], hd["instrument_name"], hd["facility_name"], hd["execution_status"]) == (
        "HD_1234", "AMBER", "VLTI", "Planned")
    assert (hd["s_ra"], hd["s_dec"]) == (pytest.approx(4.11525), pytest.approx(-36.796289, abs=1e-6))
    assert (hd["category"], hd["priority"], hd["tracking_type"], hd["obs_collection"]) == (
        "Window", 0, "Sidereal", "eso_vlti_import")
    assert (hd["instrument_mode"], hd["interferometer_stations"], hd["em_min"], hd["em_max"]) == (
        "Low_JHK", "A1 G1 I1", 1.926e-6, 2.54e-6)
    assert hd["t_exptime"] is None and hd["t_plan_exptime"] is None
    # LST 21:37 to 04:16 (STTimeIntervals 77820:15360) of the night of 2011-10-15 at Paranal, in UTC
    assert hd["t_min"] == pytest.approx(_mjd("2011-10-16T00:41:51"), abs=60 / 86400)
    assert (hd["t_max"] - hd["t_min"]) * 24 == pytest.approx((86400 - 77820 + 15360) / 3600 / 1.0027379, abs=1e-3)


def test_a_plan_loaded_again_keeps_its_planning_time_and_replace_drops_the_rest(
        clean_catalogues: psycopg.Connection[Any]) -> None:
    ingest_plan_files(clean_catalogues, PLAN)
    before = {r["obs_id"]: r["t_planning"] for r in _rows(clean_catalogues)}
    again = ingest_plan_files(clean_catalogues, PLAN)
    assert len(again.unchanged) == 2 and {r["obs_id"]: r["t_planning"] for r in _rows(clean_catalogues)} == before
    replaced = ingest_plan_files(clean_catalogues, [HD_1234], replace=True)
    assert replaced.removed == (PLAN[1].stem,)
    assert [r["obs_id"] for r in _rows(clean_catalogues)] == [HD_1234.stem]


@pytest.mark.parametrize(("edit", "reason"), [
    (("TARGET.NAME             \"HD_1234\"", "TARGET.NAME             \"\""), "no TARGET.NAME"),
    (("\" 00:16:27.660\"", "\" 25:16:27.660\""), "ra '25:16:27.660' is not a J2000 right ascension"),
    (("instrument                   \"AMBER\"", "instrument                   \"SPHERE\""),
     "instrument 'SPHERE' is not a VLTI instrument"),
    (("userPriority            \"1\"", "userPriority            \"high\""),
     "userPriority 'high' is not a whole number"),
    (("IMPEX.VERSION \"2.0\"", ""), "not an ESO P2PP OB export"),
])
def test_a_bad_ob_refuses_the_whole_plan_and_says_why(
        clean_catalogues: psycopg.Connection[Any], tmp_path: Path, edit: tuple[str, str], reason: str) -> None:
    bad = tmp_path / "SCI_bad.obx"
    text = HD_1234.read_text()
    assert edit[0] in text
    bad.write_text(text.replace(*edit))
    with pytest.raises(UsageError) as refused:
        ingest_plan_files(clean_catalogues, [PLAN[1], bad])
    assert "SCI_bad.obx" in refused.value.message and reason in refused.value.message
    assert _rows(clean_catalogues) == []


def test_the_same_ob_twice_is_refused(clean_catalogues: psycopg.Connection[Any], tmp_path: Path) -> None:
    (tmp_path / "copy").mkdir()
    copy = tmp_path / "copy" / HD_1234.name
    copy.write_bytes(HD_1234.read_bytes())
    with pytest.raises(UsageError, match="the same OB"):
        ingest_plan_files(clean_catalogues, [HD_1234, copy])
    assert _rows(clean_catalogues) == []


def test_obsplan_is_published_with_the_obsloctap_table_utype(clean_catalogues: psycopg.Connection[Any]) -> None:
    utype = clean_catalogues.execute(
        "SELECT utype FROM tap_schema.tables WHERE table_name = 'ivoa.obsplan'").fetchone()
    assert utype == ("ivo://ivoa.net/std/obsloctap#table-1.0",)
    columns = dict(clean_catalogues.execute(
        "SELECT column_name, ucd FROM tap_schema.columns WHERE table_name = 'ivoa.obsplan' AND std = 1").fetchall())
    assert len(columns) == 26 and columns["execution_status"] is None and columns["s_ra"] == "pos.eq.ra"
