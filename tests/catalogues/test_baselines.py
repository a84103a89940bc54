"""Projected baselines: the ISS header values, and the computed-from-stations path checked against them."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from astropy.io.votable import parse_single_table

from jmmctap.catalogues.baselines import Pointing, compute_baselines
from jmmctap.catalogues.eso_header import HeaderSource, read_headers
from jmmctap.catalogues.exposure import extract_exposure
from jmmctap.catalogues.stations import find_station
from tests.catalogues.conftest import ESO_DIR, GRAVITY_HEADER
from tests.support.shared import SAMPLES

CENTIMETRE = 0.01
OBSPORTAL_DIR = SAMPLES / "obsportal"


def _header(path: Path) -> dict[str, Any]:
    return dict(read_headers(path)[0].keywords)


def _computed(path: Path) -> tuple[list[tuple[float | None, float | None]], list[tuple[float, float]]]:
    """Computed (length, angle) at start per pair, and the header's (PBL, PBLA) START values."""
    header = _header(path)
    names = [str(header[f"ESO ISS CONF STATION{i}"]) for i in range(1, int(header["ESO ISS CONF NTEL"]) + 1)]
    stations = [find_station("VLTI", n) for n in names]
    assert None not in stations
    pointing = Pointing(float(header["RA"]), float(header["DEC"]), float(header["MJD-OBS"]),
                        float(header["LST"]) / 86400 * 360)
    computed = compute_baselines([s for s in stations if s], pointing)
    expected = [(float(header[f"ESO ISS PBL{i}{j} START"]), float(header[f"ESO ISS PBLA{i}{j} START"]))
                for i in range(1, len(names) + 1) for j in range(i + 1, len(names) + 1)]
    return [(b.length_start, b.angle_start) for b in computed], expected


def test_gravity_2016_06_23_has_its_header_stations_and_baselines() -> None:
    exposure = extract_exposure(read_headers(GRAVITY_HEADER)[0])
    header = _header(GRAVITY_HEADER)
    assert exposure.stations == ("A0", "B2", "D0", "C1")
    assert [b.name for b in exposure.baselines] == ["A0-B2", "A0-D0", "A0-C1", "B2-D0", "B2-C1", "D0-C1"]
    pairs = [(i, j) for i in range(1, 5) for j in range(i + 1, 5)]
    for baseline, (i, j) in zip(exposure.baselines, pairs, strict=True):
        assert baseline.source == "header"
        assert baseline.length_start == pytest.approx(header[f"ESO ISS PBL{i}{j} START"], abs=CENTIMETRE)
        assert baseline.length_end == pytest.approx(header[f"ESO ISS PBL{i}{j} END"], abs=CENTIMETRE)
        assert baseline.angle_start == pytest.approx(header[f"ESO ISS PBLA{i}{j} START"], abs=1e-6)
        assert baseline.angle_end == pytest.approx(header[f"ESO ISS PBLA{i}{j} END"], abs=1e-6)


def test_computed_baselines_reproduce_the_gravity_2016_06_23_header_within_1_cm() -> None:
    computed, expected = _computed(GRAVITY_HEADER)
    for (length, angle), (pbl, pbla) in zip(computed, expected, strict=True):
        assert length == pytest.approx(pbl, abs=CENTIMETRE)
        assert angle is not None and abs((angle - pbla + 180) % 360 - 180) < 0.06


@pytest.mark.parametrize("name", ["GRAVITY_2016-01-09_primary.hdr", "MATISSE_2018-12-02_HD45677_primary.hdr",
                                  "AMBER_2013-04-15_V838_Mon_primary.hdr"])
def test_computed_baselines_agree_with_other_headers_within_3_cm(name: str) -> None:
    computed, expected = _computed(ESO_DIR / name)
    for (length, angle), (pbl, pbla) in zip(computed, expected, strict=True):
        assert length == pytest.approx(pbl, abs=3 * CENTIMETRE)
        assert angle is not None and abs((angle - pbla + 180) % 360 - 180) < 0.2


def test_end_baselines_follow_the_earth_rotation() -> None:
    computed, _ = _computed(GRAVITY_HEADER)
    header = _header(GRAVITY_HEADER)
    stations = [s for s in (find_station("VLTI", n) for n in ("A0", "B2")) if s]
    pointing = Pointing(float(header["RA"]), float(header["DEC"]), float(header["MJD-OBS"]),
                        float(header["LST"]) / 86400 * 360, duration_s=3 * 3600)
    (baseline,) = compute_baselines(stations, pointing)
    assert baseline.length_start == computed[0][0]
    assert baseline.length_end is not None and abs(baseline.length_end - baseline.length_start) > 0.1  # type: ignore[operator]


def _obsportal_gravity_rows() -> list[Any]:
    rows = []
    for name in ("obsportal-search-gravity.votable.xml", "obsportal-output-10.votable.xml"):
        rows += list(parse_single_table(OBSPORTAL_DIR / name).to_table())
    return rows


def test_baselines_computed_with_a_computed_lst_reproduce_obsportal_ut_baselines_within_4_cm() -> None:
    # ObsPortal's GRAVITY UT exposures carry their header PBL values (mm); given only what a header
    # without PBL and LST keywords would give, the product must find the same baselines
    rows = _obsportal_gravity_rows()
    assert len(rows) == 39
    compared = 0
    for row in rows:
        stations = str(row["interferometer_stations"]).split()
        keywords: dict[str, object] = {
            "ARCFILE": f"{row['exp_header']}.fits", "MJD-OBS": float(row["exp_mjd_start"]),
            "EXPTIME": (float(row["exp_mjd_end"]) - float(row["exp_mjd_start"])) * 86400,
            "RA": float(row["target_ra"]), "DEC": float(row["target_dec"]), "INSTRUME": "GRAVITY",
            "TELESCOP": "ESO-VLTI-U1234", "ESO ISS CONF NTEL": len(stations),
            **{f"ESO ISS CONF STATION{i}": name for i, name in enumerate(stations, start=1)},
        }
        exposure = extract_exposure(HeaderSource("obsportal row", keywords))
        assert "LST computed from MJD-OBS and the site longitude" in exposure.validation_log
        expected = ast.literal_eval(str(row["exp_projected_baselines"]))
        assert [b.name for b in exposure.baselines] == list(expected)
        for baseline in exposure.baselines:
            assert baseline.source == "computed"
            reference = expected[baseline.name]
            assert baseline.length_start == pytest.approx(float(reference["length"]["start"]), abs=4 * CENTIMETRE)
            assert baseline.length_end == pytest.approx(float(reference["length"]["end"]), abs=4 * CENTIMETRE)
            for computed, header in ((baseline.angle_start, reference["angle"]["start"]),
                                     (baseline.angle_end, reference["angle"]["end"])):
                assert computed is not None and abs((computed - float(header) + 180) % 360 - 180) < 0.15
            compared += 1
    assert compared == 39 * 6
