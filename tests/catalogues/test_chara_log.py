"""CHARA night logs: each row becomes an exposure of ObsPortal's CHARA shape, or is refused with its line and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from jmmctap.catalogues.chara_log import CHARA_LOG_FIELDS, Position, read_chara_log
from jmmctap.errors import UsageError
from tests.support.shared import SAMPLES

LOG = SAMPLES / "chara" / "chara_night_log_example.csv"
HEADER = "UT Date,Star,PI,Program,Combiner,Type,MJD,Filter,Scopes,B1,B2,B3,T0 obs,T0 500nm\n"
GOOD = "2021-10-24,del Cas,A PI,P1,SPICA,Object,59511.2100,MR720,S1-E1-W1,S1-E1,E1-W1,S1-W1,7.0,9.6\n"


def _nowhere(name: str) -> Position | None:
    return None


def _log(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "night.csv"
    path.write_text(HEADER + "".join(lines))
    return path


def test_the_sample_log_gives_chara_exposures_with_their_modes_stations_and_t0() -> None:
    exposures = read_chara_log(LOG, lambda name: (1.0, 2.0, "here") if name == "del Cas" else None)
    assert [e.exp_id for e in exposures] == [
        "SPICA.2021-10-24T03:36:00.000_1", "SPICA.2021-10-24T03:57:36.000_1", "SPICA.2021-10-24T05:02:24.000_1",
        "MIRCX-MYSTIC.2021-10-24T07:12:00.000_1"]
    first, calibrator, del_cas, mystic = exposures
    assert (first.interferometer_name, first.instrument_name, first.target_name, first.obs_type) == (
        "CHARA", "SPICA", "bet Per", "science")
    assert first.setup is not None and first.setup.mode == "LR"
    assert [first.setup.em_min, first.setup.em_max] == [pytest.approx(0.6124e-6), pytest.approx(0.9036e-6)]
    assert first.stations == ("S1", "E1", "W1") and first.tau0_s == pytest.approx(0.0084)
    assert first.mjd_start == first.mjd_end == 59511.15
    assert (first.program_id, first.program_pi_coi) == ("EXAMPLE-SPICA", "EXAMPLE (not a real log)")
    assert calibrator.obs_type == "calibrator" and calibrator.target_name == "* alf Peg"
    assert (del_cas.ra_deg, del_cas.dec_deg) == (1.0, 2.0) and first.ra_deg is None
    assert first.validation_level == 0 and any("position unknown" in line for line in first.validation_log)
    assert mystic.stations == ("S1", "S2", "E1", "E2", "W1", "W2") and mystic.tau0_s is None
    assert first.source == "chara_night_log_example.csv#2"


@pytest.mark.parametrize(("row", "reason"), [
    (GOOD.replace("59511.2100", "59600.2"), "MJD 59600.2 is not on UT date 2021-10-24"),
    (GOOD.replace("59511.2100", "soon"), "MJD 'soon' is not a number"),
    (GOOD.replace("2021-10-24", "24/10/2021"), "UT date '24/10/2021' is not YYYY-MM-DD"),
    (GOOD.replace("del Cas", ""), "no star"),
    (GOOD.replace("SPICA", "GRAVITY"), "combiner 'GRAVITY' is not a CHARA instrument"),
    (GOOD.replace("MR720", "K"), "filter 'K' is not a mode of SPICA"),
    (GOOD.replace("Object", "Dark"), "type 'Dark' is neither science"),
    (GOOD.replace("S1-E1-W1,", "S1-E1-X9,"), "scopes X9 are not CHARA stations"),
    (GOOD.replace(",E1-W1,", ",E1-S2,"), "B2 'E1-S2' is not a pair of the scopes"),
    (GOOD.replace(",9.6", ",-3"), "t0 at 500 nm '-3' is out of range"),
    (GOOD.replace(",9.6", ""), "13 fields instead of 14"),
])
def test_a_bad_row_refuses_the_log_with_its_line_and_reason(tmp_path: Path, row: str, reason: str) -> None:
    with pytest.raises(UsageError) as refused:
        read_chara_log(_log(tmp_path, GOOD.replace("del Cas", "bet Cas"), row), _nowhere)
    assert refused.value.message.startswith("night.csv: line 3: ") and reason in refused.value.message


def test_every_bad_row_is_listed(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as refused:
        read_chara_log(_log(tmp_path, GOOD.replace("SPICA", "X"), GOOD, GOOD.replace("Object", "?")), _nowhere)
    message = refused.value.message
    assert "line 2: combiner 'X'" in message and "line 4: type '?'" in message and "line 3" not in message


def test_the_same_observation_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="line 3: the same observation as line 2"):
        read_chara_log(_log(tmp_path, GOOD, GOOD), _nowhere)


def test_a_file_that_is_not_a_night_log_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    other.write_text("ra,dec\n1,2\n")
    with pytest.raises(UsageError, match=f"header of {len(CHARA_LOG_FIELDS)} fields"):
        read_chara_log(other, _nowhere)
    with pytest.raises(UsageError, match="no observation after the header"):
        read_chara_log(_log(tmp_path), _nowhere)
    with pytest.raises(UsageError, match="cannot read"):
        read_chara_log(tmp_path / "gone.csv", _nowhere)
