"""Implausible values of a granule are found, with the columns that must not state them."""

from __future__ import annotations

from dataclasses import replace

from jmmctap.catalogues.granule_checks import MAX_EXPOSURE_S, implausible_values
from jmmctap.catalogues.oifits import Granule

PLAUSIBLE = Granule(
    target_name="ACHERNAR", s_ra=24.43, s_dec=-57.24, t_exptime=128.0, t_min=57372.06, t_max=57372.07,
    em_res_power=40.0, em_min=1.52e-6, em_max=1.76e-6, facility_name="VLTI",
    instrument_name="PIONIER_Pnat(1.5185716/1.7622651)", nb_vis=0, nb_vis2=36, nb_t3=24, nb_channels=6,
    stations=("A0", "B2"), night_id=57372,
)


def _columns(granule: Granule) -> list[tuple[str, ...]]:
    return [d.columns for d in implausible_values(granule)]


def test_a_real_granule_is_plausible() -> None:
    assert implausible_values(PLAUSIBLE) == ()


def test_an_exposure_longer_than_a_night_or_not_positive_is_doubted() -> None:
    assert _columns(replace(PLAUSIBLE, t_exptime=1.582e6)) == [("t_exptime",)]  # 2012 PIONIER pipeline
    assert _columns(replace(PLAUSIBLE, t_exptime=0.0)) == [("t_exptime",)]
    assert _columns(replace(PLAUSIBLE, t_exptime=-5.0)) == [("t_exptime",)]
    assert implausible_values(replace(PLAUSIBLE, t_exptime=MAX_EXPOSURE_S)) == ()
    (doubt,) = implausible_values(replace(PLAUSIBLE, t_exptime=1.582e6))
    assert "longer than a night" in doubt.reason and "1.582e+06" in doubt.reason


def test_a_reversed_or_negative_wavelength_range_is_doubted() -> None:
    assert _columns(replace(PLAUSIBLE, em_min=2e-6, em_max=1e-6)) == [("em_min", "em_max")]
    assert _columns(replace(PLAUSIBLE, em_min=-1e-6)) == [("em_min", "em_max")]


def test_a_position_off_the_sky_is_doubted() -> None:
    assert _columns(replace(PLAUSIBLE, s_ra=-10.0)) == [("s_ra", "s_dec")]
    assert _columns(replace(PLAUSIBLE, s_dec=95.0)) == [("s_ra", "s_dec")]
    assert _columns(replace(PLAUSIBLE, s_ra=float("nan"))) == [("s_ra", "s_dec")]
