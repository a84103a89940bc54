"""OIFITS → granules: the five oitools reference files field by field, rejection of corrupted files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from jmmctap.catalogues.oifits import OifitsError, read_oifits
from tests.catalogues.conftest import OIFITS_DIR, oifits_files
from tests.catalogues.reference import differences, key, product_of, read_reference, reference_files
from tests.support.shared import needs_shared


@pytest.mark.parametrize("reference", reference_files(), ids=lambda p: p.name)
@needs_shared(OIFITS_DIR)
def test_granules_reproduce_the_oitools_reference(reference: Path) -> None:
    expected = read_reference(reference)
    granules = [dataclasses.asdict(g) for g in read_oifits(product_of(reference)).granules]
    assert len(granules) == len(expected)
    by_key = {key(g): g for g in granules}
    for row in expected:
        granule = by_key[key(dict(row))]
        assert differences(row, granule) == []


@needs_shared(OIFITS_DIR)
def test_there_are_five_reference_files() -> None:
    assert len(reference_files()) == 5


@pytest.mark.parametrize("path", oifits_files(), ids=lambda p: p.name)
@needs_shared(OIFITS_DIR)
def test_every_valid_oifits_file_gives_sane_granules(path: Path) -> None:
    product = read_oifits(path)
    assert product.granules
    assert product.version == (2 if path.name in {
        "GRAVI.2016-06-23T03-10-17.458_singlesciviscalibrated.fits", "TEST_CreateOIFileV2.fits",
        "MATISSE_2018-12-02T062655_HD45677_A0B2J2C1_IR-LM_LOW_Chop_cal_oifits_0.fits", "bigtest2.fits",
        "testdata_opt.fits"} else 1)
    for granule in product.granules:
        assert granule.t_min <= granule.t_max
        assert 0 < granule.em_min <= granule.em_max < 3e-5
        assert -90 <= granule.s_dec <= 90
        assert round(granule.t_min) == granule.night_id
        assert granule.nb_channels > 0


@needs_shared(OIFITS_DIR)
def test_one_granule_per_target_insname_and_night() -> None:
    product = read_oifits(OIFITS_DIR / "2009-11-eps_Aur-avg5.oifits")
    # 26 INSNAMEs (one per night-merged setup) of one target: one granule each
    assert len({(g.target_name, g.instrument_name, g.night_id) for g in product.granules}) == 26
    testdata = read_oifits(OIFITS_DIR / "testdata_opt.fits")
    # OI_FLUX rows of another night make their own granule, without counts nor facility
    assert [(g.night_id, g.nb_vis2, g.facility_name) for g in testdata.granules] == [(51837, 2, "COAST"),
                                                                                    (51836, 0, "")]


@pytest.mark.parametrize(("name", "reason"), [
    ("testdata_opt_TRUNC.fits", "not a readable FITS file: Empty or corrupt FITS file"),
    ("V1_with_V2_Tables.fits", "OI_CORR table in an OIFITS version 1 file"),
    ("Multi_OIINSPOL_TESTV2.fits", "INSNAME 'AMBER-like' in several OI_INSPOL tables"),
])
@needs_shared(OIFITS_DIR)
def test_corrupted_files_are_rejected_with_the_reason(name: str, reason: str) -> None:
    with pytest.raises(OifitsError) as failure:
        read_oifits(OIFITS_DIR / "corrupted" / name)
    assert failure.value.message.startswith(f"{name}: ")
    assert reason in failure.value.message


@needs_shared(OIFITS_DIR)
def test_a_file_without_target_table_is_rejected(tmp_path: Path) -> None:
    from astropy.io import fits

    path = tmp_path / "notarget.fits"
    with fits.open(OIFITS_DIR / "2008-Contest_Binary.oifits") as hdus:
        fits.HDUList([h for h in hdus if h.name != "OI_TARGET"]).writeto(path)
    with pytest.raises(OifitsError, match="0 OI_TARGET tables"):
        read_oifits(path)


def test_a_missing_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(OifitsError, match="cannot read"):
        read_oifits(tmp_path / "absent.fits")
