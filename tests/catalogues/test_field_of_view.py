"""The beam lambda / D: which telescope diameter counts, for OIFITS granules and L0 exposures."""

from __future__ import annotations

import math

import pytest

from jmmctap.catalogues.field_of_view import (
    circle_polygon,
    field_of_view_deg,
    longest_wavelength_m,
    telescope_diameter_m,
)


def test_a_diameter_written_in_the_file_wins() -> None:
    assert telescope_diameter_m("VLTI", ("A0", "B2"), measured=1.8) == 1.8


def test_pioniers_zero_diameter_falls_back_on_the_stations_telescopes() -> None:
    assert telescope_diameter_m("VLTI", ("A0", "K0"), measured=0.0) == 1.8  # ATs
    assert telescope_diameter_m("VLTI", ("U1", "U2", "U3", "U4")) == 8.0  # ESO headers name UTs U1..U4


def test_unknown_stations_give_the_facilitys_smallest_telescope() -> None:
    assert telescope_diameter_m("VLTI", ("AT1", "AT4")) == 1.8
    assert telescope_diameter_m("CHARA_2004Jan", ()) == 1.0
    assert telescope_diameter_m("NPOI_2004-01-07", ("E02",)) == 0.12


def test_an_unknown_facility_uses_the_files_arrays_or_nothing() -> None:
    assert telescope_diameter_m("COAST", ("TEL2",), in_file=0.4) == 0.4
    assert telescope_diameter_m("", (), in_file=None) is None


def test_the_beam_is_lambda_over_d_in_degrees() -> None:
    assert field_of_view_deg(1.8e-6, 1.8) == pytest.approx(math.degrees(1e-6))
    assert field_of_view_deg(None, 1.8) is None
    assert field_of_view_deg(1.8e-6, 0.0) is None


def test_an_exposure_of_unknown_mode_takes_the_instruments_longest_wavelength() -> None:
    assert longest_wavelength_m("VLTI", "PIONIER") == pytest.approx(2.195e-6)
    matisse = longest_wavelength_m("VLTI", "MATISSE")  # MATISSE_LM and MATISSE_N in Aspro2
    assert matisse is not None and matisse > 8e-6
    assert longest_wavelength_m("VLTI", "NOSUCH") is None


def test_the_polygon_has_sixteen_vertices_on_the_circle() -> None:
    polygon = circle_polygon(24.43, -57.24, 0.001)
    assert polygon.startswith("{(") and polygon.count("d,") == 16
