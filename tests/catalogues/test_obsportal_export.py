"""ObsPortal's VOTable exports through ingest-eso: ObsPortal's own values kept, what they lack said, rows never lost."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from astropy.io.votable import parse_single_table

from jmmctap.catalogues.eso_ingest import ingest_eso_files
from jmmctap.catalogues.obscore_l0 import derive_l0_granules
from tests.support.shared import SAMPLES

EXPORTS = SAMPLES / "obsportal"
GRAVITY = EXPORTS / "obsportal-search-gravity.votable.xml"
OUTPUT_10 = EXPORTS / "obsportal-output-10.votable.xml"
SPICA = EXPORTS / "obsportal-dev-spica.votable.xml"


def _exported(path: Path) -> list[dict[str, Any]]:
    table = parse_single_table(path).to_table()
    return [{name: row[name] for name in table.colnames} for row in table]


def _stored(conn: psycopg.Connection[Any], exp_id: str) -> dict[str, Any]:
    cursor = conn.execute(
        """SELECT e.*, s.em_min, s.em_max, s.em_res_power FROM obsportal.exposures e
           LEFT JOIN obsportal.instrument_setups s USING (setup_id) WHERE exp_id = %s""", [exp_id])
    row = cursor.fetchone()
    assert row is not None, exp_id
    return dict(zip([c.name for c in cursor.description or ()], row, strict=True))


def test_every_exported_exposure_is_stored_once_and_again_unchanged(clean_catalogues: psycopg.Connection[Any]) -> None:
    report = ingest_eso_files(clean_catalogues, [GRAVITY, OUTPUT_10, SPICA])
    assert report.rejected == () and len(report.inserted) == 8 + 31 + 3
    again = ingest_eso_files(clean_catalogues, [GRAVITY, OUTPUT_10, SPICA])
    assert len(again.unchanged) == 42 and again.inserted == again.updated == ()


def test_a_vlti_export_keeps_obsportals_baselines_conditions_and_validation(
        clean_catalogues: psycopg.Connection[Any]) -> None:
    ingest_eso_files(clean_catalogues, [GRAVITY])
    for exported in _exported(GRAVITY):
        stored = _stored(clean_catalogues, exported["exp_id"])
        assert stored["exp_header_id"] == exported["exp_header"]
        assert (stored["exp_mjd_start"], stored["exp_mjd_end"]) == (exported["exp_mjd_start"], exported["exp_mjd_end"])
        assert stored["exp_exptime"] == pytest.approx((exported["exp_mjd_end"] - exported["exp_mjd_start"]) * 86400,
                                                       abs=1e-3)
        for name in ("exp_tau0", "exp_temperature", "exp_seeing"):
            assert stored[name] == pytest.approx(float(exported[name]))
        assert (stored["exp_validation_level"], json.loads(stored["exp_validation_log"])) == (1, [])
        for name in ("obs_type", "obs_program", "interferometer_name", "interferometer_stations", "instrument_name",
                     "instrument_mode", "instrument_submode", "target_name"):
            assert stored[name] == exported[name], name
        assert (stored["target_ra"], stored["target_dec"]) == (exported["target_ra"], exported["target_dec"])
        baselines = json.loads(stored["exp_projected_baselines"])
        expected = ast.literal_eval(exported["exp_projected_baselines"])
        assert list(baselines) == list(expected)
        for pair, value in expected.items():
            for what in ("length", "angle"):
                for when in ("start", "end"):
                    assert baselines[pair][what][when] == float(value[what][when])
    (rows,) = clean_catalogues.execute(
        "SELECT count(*) FROM obsportal.baselines WHERE source = 'header'").fetchone()  # type: ignore[misc]
    assert rows == 8 * 6


def test_a_chara_export_keeps_its_log_and_wavelengths_and_gets_chara_l0_granules(
        clean_catalogues: psycopg.Connection[Any]) -> None:
    ingest_eso_files(clean_catalogues, [SPICA], derive_l0=derive_l0_granules)
    for exported in _exported(SPICA):
        stored = _stored(clean_catalogues, exported["exp_id"])
        assert (stored["interferometer_name"], stored["instrument_name"], stored["instrument_mode"]) == (
            "CHARA", "SPICA", "LR")
        assert stored["exp_validation_level"] == 0
        assert json.loads(stored["exp_validation_log"]) == json.loads(exported["exp_validation_log"])
        assert (stored["em_min"], stored["em_max"], stored["em_res_power"]) == (6e-07, 9e-07, 150.0)
        assert stored["exp_projected_baselines"] is None and stored["interferometer_stations"] is None
    granules = clean_catalogues.execute(
        "SELECT obs_collection, facility_name, access_url FROM ivoa.obscore WHERE calib_level = 0 ORDER BY obs_id"
    ).fetchall()
    assert len(granules) == 3
    assert all(c == "chara_import" and f == "CHARA" and a.startswith("https://obs.jmmc.fr/detail/exposure/SPICA")
               for c, f, a in granules)


def test_an_export_without_validation_level_gets_level_0_and_says_why(
        clean_catalogues: psycopg.Connection[Any]) -> None:
    ingest_eso_files(clean_catalogues, [OUTPUT_10])
    levels = clean_catalogues.execute(
        "SELECT DISTINCT exp_validation_level, exp_validation_log FROM obsportal.exposures").fetchall()
    assert levels == [(0, json.dumps(["ObsPortal export without exp_validation_level: level unknown"]))]


def test_a_row_without_exp_id_is_rejected_by_number_and_the_others_are_kept(
        clean_catalogues: psycopg.Connection[Any], tmp_path: Path) -> None:
    broken = tmp_path / "export.xml"
    first = _exported(GRAVITY)[0]["exp_id"]
    broken.write_text(GRAVITY.read_text().replace(f"<TD>{first}</TD>", "<TD></TD>", 1))
    report = ingest_eso_files(clean_catalogues, [broken])
    assert report.rejected == (("export.xml row 1", "no exp_id"),)
    assert len(report.inserted) == 7


def test_an_export_cut_short_is_rejected_whole(clean_catalogues: psycopg.Connection[Any], tmp_path: Path) -> None:
    text = OUTPUT_10.read_text()
    truncated = tmp_path / "cut.xml"
    truncated.write_text(text[: text.index("</TR>", len(text) // 2)])
    report = ingest_eso_files(clean_catalogues, [truncated, SPICA])
    assert [name for name, _ in report.rejected] == ["cut.xml"]
    assert clean_catalogues.execute("SELECT count(*) FROM obsportal.exposures").fetchone() == (3,)


def test_a_missing_file_is_rejected_with_the_reason(clean_catalogues: psycopg.Connection[Any], tmp_path: Path) -> None:
    report = ingest_eso_files(clean_catalogues, [tmp_path / "gone.xml", SPICA])
    assert [(name, reason.startswith("gone.xml: cannot read")) for name, reason in report.rejected] == [
        ("gone.xml", True)]
    assert len(report.inserted) == 3
