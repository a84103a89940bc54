"""The instrument behind an INSNAME: the names real pipelines write, and the header's INSTRUME as a fallback."""

from __future__ import annotations

import pytest

from jmmctap.catalogues.instruments import instrument_of


@pytest.mark.parametrize(("insname", "instrume", "instrument"), [
    ("PIONIER_Pnat(1.5884629/1.7604805)", None, "PIONIER"),
    ("PIONIER_Pnat(1.5734500/1.7411900)_6", "PIONIER", "PIONIER"),
    ("GRAVITY_SC", "GRAVITY", "GRAVITY"),
    ("GRAVITY_FT", None, "GRAVITY"),
    ("SPECTRO_SC", "GRAVITY", "GRAVITY"),  # GRAVITY commissioning: only INSTRUME says it
    ("MATISSE", "MATISSE", "MATISSE"),
    ("AMBER(1.6619521/2.3767191)", None, "AMBER"),
    ("MIDI/PRISM", None, "MIDI"),
    ("CHARA_MIRC", "MULTIPLE", "MIRC"),
    ("MIRC_H", None, "MIRC"),
    ("MIRC-X_H_PRISM50", None, "MIRC-X"),
    ("MYSTIC_K", None, "MYSTIC"),
    ("SPICA_LR", None, "SPICA"),
    ("IOTA_IONIC_PICNIC", "MULTIPLE", "IONIC"),
    ("AMBER-like", "VEGA", "VEGA"),  # oitools' synthetic file: no real AMBER setup
])
def test_insname_gives_the_facility_instrument(insname: str, instrume: str | None, instrument: str) -> None:
    assert instrument_of(insname, instrume) == instrument


@pytest.mark.parametrize("insname", ["H_PRISM", "NPOI_2004-01-07", "COAST_NICMOS", "AMBER-like", ""])
def test_an_unknown_setup_names_no_instrument(insname: str) -> None:
    assert instrument_of(insname) is None
