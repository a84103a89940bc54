"""Instrument setups: the mode of an exposure from its header, and its spectral coverage from Aspro2.

The mode names follow ObsPortal and Aspro2 (``HIGH-COMBINED`` / ``SINGLE`` for GRAVITY,
``Low_JHK`` for AMBER); the wavelength range and resolving power come from the shipped extract
of the Aspro2 configuration (``data/instrument_modes.csv``, see ``data/README.md``) when the mode
is listed there, and stay unknown otherwise.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from jmmctap.catalogues.stations import DATA_DIR

__all__ = ["InstrumentSetup", "instrument_setup", "load_instrument_modes"]

_MICRON = 1e-6


@dataclass(frozen=True)
class InstrumentSetup:
    """An instrument configuration; wavelengths in metres."""

    interferometer_name: str | None
    instrument_name: str
    mode: str | None
    submode: str | None
    em_min: float | None = None
    em_max: float | None = None
    em_res_power: float | None = None


@cache
def load_instrument_modes() -> dict[tuple[str, str, str], tuple[float, float, float]]:
    """(interferometer, instrument, mode) upper case → (em_min m, em_max m, resolving power)."""
    with (DATA_DIR / "instrument_modes.csv").open(newline="") as handle:
        return {
            (row["interferometer"].upper(), row["instrument"].upper(), row["mode"].upper()): (
                float(row["wavelength_min_um"]) * _MICRON, float(row["wavelength_max_um"]) * _MICRON,
                float(row["spectral_resolution"]),
            )
            for row in csv.DictReader(handle)
        }


def instrument_setup(interferometer: str | None, instrument: str | None,
                     keywords: Mapping[str, object]) -> InstrumentSetup | None:
    """The setup of an exposure, or None without an instrument name."""
    if not instrument:
        return None
    mode, submode = _mode(instrument.upper(), keywords)
    coverage = load_instrument_modes().get(((interferometer or "").upper(), instrument.upper(), (mode or "").upper()))
    if coverage is None:
        return InstrumentSetup(interferometer, instrument, mode, submode)
    return InstrumentSetup(interferometer, instrument, mode, submode, *coverage)


def _mode(instrument: str, keywords: Mapping[str, object]) -> tuple[str | None, str | None]:
    ins_mode = _text(keywords.get("ESO INS MODE"))
    if instrument == "GRAVITY":
        # ObsPortal: <INS SPEC RES>-<INS POLA MODE>, submode SINGLE/DUAL from the template
        resolution, polarisation = _text(keywords.get("ESO INS SPEC RES")), _text(keywords.get("ESO INS POLA MODE"))
        template = (_text(keywords.get("ESO TPL ID")) or "").lower()
        submode = "DUAL" if "dual" in template else "SINGLE" if "single" in template else None
        if resolution and polarisation:
            return f"{resolution}-{polarisation}", submode
        return ins_mode, submode
    if instrument == "AMBER" and ins_mode and "_" in ins_mode:
        # '3Tstd_Low_JHK': the beam combination prefix, then the Aspro2 mode name
        return ins_mode.split("_", 1)[1], ins_mode.split("_", 1)[0]
    return ins_mode, None


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
