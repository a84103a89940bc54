"""ingest-chara: night log exposures sit in obsportal beside the VLTI ones, in ObsCore (chara_import) and obsplan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from jmmctap.catalogues.chara_ingest import ingest_chara_files, star_key
from jmmctap.catalogues.eso_ingest import ingest_eso_files
from jmmctap.catalogues.jsdc_ingest import JsdcFile, ingest_jsdc_files
from jmmctap.catalogues.obscore_l0 import derive_l0_granules
from jmmctap.errors import UsageError
from tests.catalogues.conftest import GRAVITY_HEADER
from tests.support.shared import SAMPLES

LOG = SAMPLES / "chara" / "chara_night_log_example.csv"
HOM2025 = SAMPLES / "jsdc" / "jsdc_v2_values_Hom2025.vot"


def test_star_names_meet_whatever_their_spelling() -> None:
    assert star_key("* del Cas") == star_key("del Cas") == star_key("DEL_CAS") == "delcas"
    assert star_key("V* V838 Mon") == "v838mon"


def test_a_night_log_sits_beside_vlti_exposures_in_obsportal_obscore_and_obsplan(
        clean_catalogues: psycopg.Connection[Any]) -> None:
    conn = clean_catalogues
    ingest_jsdc_files(conn, [JsdcFile(HOM2025, first_recno=2001)])  # the stars of the log, by their SIMBAD names
    ingest_eso_files(conn, [GRAVITY_HEADER], derive_l0=derive_l0_granules)
    report = ingest_chara_files(conn, [LOG], derive_l0=derive_l0_granules)
    assert len(report.inserted) == 4 and report.l0_granules == 4
    facilities = conn.execute(
        "SELECT interferometer_name, count(*) FROM obsportal.exposures GROUP BY 1 ORDER BY 1").fetchall()
    assert facilities == [("CHARA", 4), ("VLTI", 1)]
    bet_per = conn.execute(
        "SELECT target_ra, target_dec, instrument_mode, interferometer_stations, exp_tau0, obs_type"
        " FROM obsportal.exposures WHERE target_name = 'bet Per'").fetchone()
    assert bet_per == (pytest.approx(47.04221856), pytest.approx(40.95564667), "LR", "S1 E1 W1",
                       pytest.approx(0.0084), "science")
    granules = conn.execute(
        "SELECT obs_id, obs_collection, facility_name, instrument_name FROM ivoa.obscore"
        " WHERE calib_level = 0 AND facility_name = 'CHARA' ORDER BY obs_id").fetchall()
    assert [g[1:] for g in granules] == [("chara_import", "CHARA", "MIRCX-MYSTIC")] + [
        ("chara_import", "CHARA", "SPICA")] * 3
    planned = conn.execute(
        "SELECT obs_id, facility_name, execution_status, t_min, t_max, t_exptime, s_ra IS NOT NULL"
        " FROM ivoa.obsplan ORDER BY t_min").fetchall()
    assert [p[1:3] for p in planned] == [("VLTI", "Performed")] + [("CHARA", "Performed")] * 4
    assert {p[0] for p in planned[1:]} == {g[0] for g in granules}  # obsplan's obs_id is the L0 granule's
    assert all(t_min == t_max and exptime == 0 and located for _, _, _, t_min, t_max, exptime, located in planned[1:])


def test_the_same_log_again_changes_nothing(clean_catalogues: psycopg.Connection[Any]) -> None:
    ingest_chara_files(clean_catalogues, [LOG])
    again = ingest_chara_files(clean_catalogues, [LOG])
    assert len(again.unchanged) == 4 and again.inserted == again.updated == ()


def test_one_bad_log_stores_nothing_of_any(clean_catalogues: psycopg.Connection[Any], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(LOG.read_text().replace("MR720", "MR999"))
    with pytest.raises(UsageError) as refused:
        ingest_chara_files(clean_catalogues, [LOG, bad], derive_l0=derive_l0_granules)
    assert "bad.csv: line 4: filter 'MR999' is not a mode of SPICA" in refused.value.message
    for table in ("obsportal.exposures", "ivoa.obscore", "ivoa.obsplan"):
        assert clean_catalogues.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table


def test_the_same_observation_in_two_logs_is_refused(
        clean_catalogues: psycopg.Connection[Any], tmp_path: Path) -> None:
    copy = tmp_path / "copy.csv"
    copy.write_bytes(LOG.read_bytes())
    with pytest.raises(UsageError, match=r"copy\.csv#2: the same observation as chara_night_log_example\.csv#2"):
        ingest_chara_files(clean_catalogues, [LOG, copy])
