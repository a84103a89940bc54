"""Reading ESO headers: every file of shared/data/eso (shipped in ingest/samples/eso), the OIFITS primary HDUs."""

from __future__ import annotations

from pathlib import Path

import pytest

from jmmctap.catalogues.eso_header import read_headers
from jmmctap.catalogues.exposure import extract_exposure
from jmmctap.errors import UsageError
from tests.catalogues.conftest import ESO_DIR, GRAVITY_HEADER, OIFITS_DIR, eso_files, oifits_files
from tests.support.shared import needs_shared

# OIFITS files whose primary header is an ESO exposure header (the others carry no ESO keywords)
ESO_PRODUCTS = {
    "GRAVI.2016-06-23T03-10-17.458_singlesciviscalibrated.fits": "GRAVI.2016-06-23T03:10:17.458",
    "GRAVITY.2016-01-09T05-37-06_singlesci_calibrated.fits": "GRAVI.2016-01-09T05:31:37.086",
    "AMBER_V838_Mon_2013-04-15_PRODUCT.fits": "AMBER.2013-04-15T01:49:24.803",
    "MATISSE_2018-12-02T062655_HD45677_A0B2J2C1_IR-LM_LOW_Chop_cal_oifits_0.fits": "MATIS.2018-12-02T06:47:52.034",
}


@pytest.mark.parametrize("path", eso_files(), ids=lambda p: p.name)
def test_every_eso_file_yields_exposures(path: Path) -> None:
    exposures = [extract_exposure(source) for source in read_headers(path)]
    assert exposures
    for exposure in exposures:
        assert exposure.exp_id == f"{exposure.exp_header_id}_1"
        assert exposure.mjd_start is not None and 50000 < exposure.mjd_start < 70000
        assert exposure.instrument_name in {"AMBER", "GRAVITY", "MATISSE"}
        assert exposure.interferometer_name == "VLTI"
        assert exposure.position_known
        assert len(exposure.stations) >= 3


@pytest.mark.parametrize("path", oifits_files(), ids=lambda p: p.name)
@needs_shared(OIFITS_DIR)
def test_oifits_primary_is_an_exposure_or_rejected_with_a_reason(path: Path) -> None:
    sources = read_headers(path)
    assert len(sources) == 1
    if path.name in ESO_PRODUCTS:
        assert extract_exposure(sources[0]).exp_header_id == ESO_PRODUCTS[path.name]
    else:
        with pytest.raises(UsageError, match=f"{path.name}: not an exposure header"):
            extract_exposure(sources[0])


@needs_shared(OIFITS_DIR)
def test_header_dump_and_fits_primary_give_the_same_exposure() -> None:
    from_dump = extract_exposure(read_headers(GRAVITY_HEADER)[0])
    product = OIFITS_DIR / "GRAVI.2016-06-23T03-10-17.458_singlesciviscalibrated.fits"
    from_fits = extract_exposure(read_headers(product)[0])
    assert from_dump.exp_id == from_fits.exp_id
    assert from_dump.baselines == from_fits.baselines
    assert from_dump.validation_log == from_fits.validation_log


def test_gravity_exposure_reads_the_listed_keywords() -> None:
    exposure = extract_exposure(read_headers(GRAVITY_HEADER)[0])
    assert exposure.exp_header_id == "GRAVI.2016-06-23T03:10:17.458"
    assert exposure.mjd_start == pytest.approx(57562.13214651)
    assert (exposure.ra_deg, exposure.dec_deg) == (261.274746, -38.06696)
    assert exposure.target_name == "IRAS17216-3801"
    assert exposure.ob_target_name == "IRAS17216-3801"
    assert exposure.program_id == "60.A-9174(A)"
    assert exposure.ob_id == 1380620
    assert exposure.tpl_start is not None and exposure.tpl_start.isoformat() == "2016-06-23T02:58:16+00:00"
    assert exposure.stations == ("A0", "B2", "D0", "C1")
    assert exposure.telescopes == ("AT1", "AT2", "AT3", "AT4")
    assert exposure.setup is not None and (exposure.setup.mode, exposure.setup.submode) == ("MEDIUM-COMBINED", "SINGLE")
    assert exposure.tau0_s == pytest.approx(0.00507)
    assert exposure.seeing_arcsec == pytest.approx(0.31)
    assert exposure.temperature_c == pytest.approx(14.89)
    assert exposure.obs_type == "science"  # OB name SCI_IRAS17216, no DPR keywords in this product


def test_missing_keywords_are_logged_and_lower_the_validation_level() -> None:
    exposure = extract_exposure(read_headers(GRAVITY_HEADER)[0])
    assert exposure.validation_level == 0
    assert "Missing 'ARCFILE'" in exposure.validation_log
    assert "Missing 'EXPTIME'" in exposure.validation_log
    assert "Missing 'HIERARCH ESO DPR CATG'" in exposure.validation_log
    assert "DP.ID derived from INSTRUME and MJD-OBS" in exposure.validation_log
    complete = extract_exposure(read_headers(ESO_DIR / "AMBER_2013-04-15_V838_Mon_primary.hdr")[0])
    assert complete.validation_log == ()
    assert complete.validation_level == 1


def _with_cards(tmp_path: Path, replacements: dict[str, str]) -> Path:
    lines = GRAVITY_HEADER.read_text().splitlines()
    out = []
    for line in lines:
        key = line[:8].rstrip()
        out.append(replacements.get(key, line))
    path = tmp_path / "edited.hdr"
    path.write_text("\n".join(out))
    return path


def test_zero_pointing_is_flagged_not_dropped(tmp_path: Path) -> None:
    path = _with_cards(tmp_path, {"RA": "RA      =                   0. / edited",
                                  "DEC": "DEC     =                   0. / edited"})
    exposure = extract_exposure(read_headers(path)[0])
    assert not exposure.position_known
    assert "RA/DEC are 0/0: pointing unknown" in exposure.validation_log
    assert exposure.baselines  # the ISS values do not depend on the pointing


def test_missing_pointing_is_logged(tmp_path: Path) -> None:
    path = _with_cards(tmp_path, {"RA": "COMMENT removed RA", "DEC": "COMMENT removed DEC"})
    exposure = extract_exposure(read_headers(path)[0])
    assert exposure.ra_deg is None and exposure.dec_deg is None
    assert {"Missing 'RA'", "Missing 'DEC'"} <= set(exposure.validation_log)


def test_archive_table_rows_become_exposures_with_computed_baselines() -> None:
    sources = read_headers(ESO_DIR / "amber_sgra_query.tbl")
    exposures = [extract_exposure(s) for s in sources]
    assert len(exposures) == 50
    first = exposures[0]
    assert first.exp_header_id == "AMBER.2006-03-14T07:40:03.741"
    assert first.mjd_start == pytest.approx(53808.3194877, abs=1e-6)  # from the DP.ID
    assert first.stations == ("U1", "U3", "U4")
    assert [b.name for b in first.baselines] == ["U1-U3", "U1-U4", "U3-U4"]
    assert {b.source for b in first.baselines} == {"computed"}
    assert "projected baselines computed from the station positions" in first.validation_log
    # UT1-UT3 is 102.4 m on the ground; projected it can only be shorter
    assert 0 < first.baselines[0].length_start < 102.5  # type: ignore[operator]


def test_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    with pytest.raises(UsageError, match=r"notes\.txt: neither a FITS header nor an ESO archive table"):
        read_headers(path)
    with pytest.raises(UsageError, match="cannot read"):
        read_headers(tmp_path / "absent.hdr")
