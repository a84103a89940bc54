"""One ObsPortal exposure extracted from an ESO header, with its validation level and log.

The keywords read are those of ObsPortal (its ``exp_validation_log`` names them): ARCFILE or DP.ID,
MJD-OBS, EXPTIME, RA/DEC, OBJECT, INSTRUME, TELESCOP, LST, OBS PROG ID/ID/NAME/TARG NAME/PI-COI NAME,
TPL ID/START/NEXP/EXPNO, DPR CATG/TYPE/TECH, INS MODE (+ GRAVITY's INS SPEC RES and INS POLA MODE),
ISS CONF NTEL/STATIONi/TiNAME, ISS PBLij/PBLAij START/END, ISS AMBI FWHM/TAU0 START/END, TEMP, ISS AIRM.

Nothing is dropped silently: every expected keyword that is missing adds a line
``Missing 'HIERARCH ESO …'`` to the log, a pointing of 0/0 or without RA/DEC is logged, values that
had to be derived say so, and ``validation_level`` is 1 only when the log is empty (ObsPortal: 0/1).
Only a header from which no exposure identifier can be built (no ARCFILE/DP.ID, and no INSTRUME
with MJD-OBS) is rejected, with a ``UsageError`` naming the file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import erfa
from astropy.time import Time

from jmmctap.catalogues.baselines import Baseline, Pointing, compute_baselines
from jmmctap.catalogues.eso_header import HeaderSource
from jmmctap.catalogues.instrument_modes import InstrumentSetup, instrument_setup
from jmmctap.catalogues.stations import Station, find_station, load_sites
from jmmctap.errors import UsageError

__all__ = ["VLTI_INSTRUMENTS", "Exposure", "extract_exposure", "mjd_from_dp_id"]

VLTI_INSTRUMENTS = frozenset({"AMBER", "GRAVITY", "MATISSE", "PIONIER", "MIDI", "VINCI"})
"""Instruments only found at the VLTI: the interferometer when TELESCOP is missing."""

_DP_ID = re.compile(r"^([A-Z0-9_]+)\.(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)$")
_ESO_PREFIX_LENGTH = 5  # ESO DP.IDs start with the instrument name cut to 5 characters


@dataclass(frozen=True)
class Exposure:
    """Everything ObsPortal stores about one exposure (values crossing into the store)."""

    exp_id: str
    exp_header_id: str
    source: str
    mjd_start: float | None
    mjd_end: float | None
    exptime_s: float | None
    ra_deg: float | None
    dec_deg: float | None
    target_name: str | None
    instrument_name: str | None
    setup: InstrumentSetup | None
    interferometer_name: str | None
    stations: tuple[str, ...]
    telescopes: tuple[str, ...]
    program_id: str | None
    program_pi_coi: str | None
    ob_id: int | None
    ob_name: str | None
    ob_target_name: str | None
    tpl_id: str | None
    tpl_start: datetime | None
    tpl_nexp: int | None
    tpl_expno: int | None
    dpr_catg: str | None
    dpr_type: str | None
    dpr_tech: str | None
    obs_type: str | None
    tau0_s: float | None
    seeing_arcsec: float | None
    temperature_c: float | None
    airmass: float | None
    baselines: tuple[Baseline, ...]
    validation_log: tuple[str, ...]

    @property
    def validation_level(self) -> int:
        """1: every expected keyword present and sane; 0: see ``validation_log``."""
        return 0 if self.validation_log else 1

    @property
    def position_known(self) -> bool:
        return self.ra_deg is not None and self.dec_deg is not None


class _Reader:
    """Keyword access that records what is missing."""

    def __init__(self, source: HeaderSource) -> None:
        self.keywords = source.keywords
        self.log: list[str] = list(source.notes)

    def text(self, key: str, required: bool = True) -> str | None:
        value = self.keywords.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            self.missing(key, required)
            return None
        return str(value).strip()

    def number(self, key: str, required: bool = True) -> float | None:
        value = self.keywords.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.missing(key, required)
            return None
        return float(value)

    def missing(self, key: str, required: bool = True) -> None:
        if required:
            self.log.append(f"Missing '{_card_name(key)}'")

    def mean(self, key: str) -> float | None:
        start, end = self.number(f"{key} START"), self.number(f"{key} END")
        values = [v for v in (start, end) if v is not None]
        return sum(values) / len(values) if values else None


def _card_name(key: str) -> str:
    return f"HIERARCH {key}" if key.startswith("ESO ") or len(key) > 8 or " " in key else key


def extract_exposure(source: HeaderSource) -> Exposure:
    """Build the exposure of one header.

    Raises
    ------
    UsageError
        No exposure identifier can be built from the header.
    """
    r = _Reader(source)
    header_id = _header_id(r, source.name)
    instrument = r.text("INSTRUME") or _instrument_from_id(header_id)
    mjd_start = r.number("MJD-OBS")
    if mjd_start is None:
        mjd_start = mjd_from_dp_id(header_id)
        if mjd_start is not None:
            r.log.append("MJD-OBS derived from the DP.ID")
    exptime = _exposure_time(r)
    ra, dec = _pointing(r)
    interferometer = _interferometer(r, instrument)
    stations, telescopes = _stations(r)
    tpl_start = _timestamp(r.text("ESO TPL START"))
    baselines = _baselines(r, interferometer, stations, ra, dec, mjd_start, exptime)
    dpr_catg = r.text("ESO DPR CATG")
    ob_name = r.text("ESO OBS NAME", required=False)
    ob_id = r.number("ESO OBS ID")
    return Exposure(
        exp_id=f"{header_id}_1", exp_header_id=header_id, source=source.name,
        mjd_start=mjd_start, mjd_end=None if mjd_start is None or exptime is None else mjd_start + exptime / 86400,
        exptime_s=exptime, ra_deg=ra, dec_deg=dec,
        target_name=r.text("OBJECT") or r.text("ESO OBS TARG NAME", required=False),
        instrument_name=instrument, setup=instrument_setup(interferometer, instrument, r.keywords),
        interferometer_name=interferometer, stations=stations, telescopes=telescopes,
        program_id=r.text("ESO OBS PROG ID"), program_pi_coi=_known(r.text("ESO OBS PI-COI NAME", required=False)),
        ob_id=None if ob_id is None else int(ob_id), ob_name=ob_name,
        ob_target_name=r.text("ESO OBS TARG NAME"),
        tpl_id=r.text("ESO TPL ID"), tpl_start=tpl_start,
        tpl_nexp=_integer(r.number("ESO TPL NEXP", required=False)),
        tpl_expno=_integer(r.number("ESO TPL EXPNO", required=False)),
        dpr_catg=dpr_catg, dpr_type=r.text("ESO DPR TYPE"), dpr_tech=r.text("ESO DPR TECH"),
        obs_type=_obs_type(dpr_catg, ob_name),
        tau0_s=r.mean("ESO ISS AMBI TAU0"), seeing_arcsec=r.mean("ESO ISS AMBI FWHM"),
        temperature_c=r.number("ESO ISS AMBI TEMP"), airmass=r.mean("ESO ISS AIRM"),
        baselines=tuple(baselines), validation_log=tuple(r.log),
    )


def mjd_from_dp_id(header_id: str) -> float | None:
    """The exposure start encoded in an ESO DP.ID (``AMBER.2006-03-14T07:40:03.741``), as MJD."""
    match = _DP_ID.match(header_id)
    if not match:
        return None
    try:
        return float(Time(match[2], format="isot", scale="utc").mjd)
    except ValueError:
        return None


def _header_id(r: _Reader, name: str) -> str:
    for key in ("ARCFILE", "DP.ID"):
        value = r.keywords.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip().removesuffix(".fits")
    r.missing("ARCFILE")
    instrument, mjd = r.keywords.get("INSTRUME"), r.keywords.get("MJD-OBS")
    if isinstance(instrument, str) and instrument.strip() and isinstance(mjd, int | float):
        # the DP.ID the archive gives: instrument cut to 5 characters and MJD-OBS to the millisecond
        stamp = Time(float(mjd), format="mjd", scale="utc", precision=3).isot
        r.log.append("DP.ID derived from INSTRUME and MJD-OBS")
        return f"{instrument.strip().upper()[:_ESO_PREFIX_LENGTH]}.{stamp}"
    raise UsageError(f"{name}: not an exposure header: no ARCFILE or DP.ID, and no INSTRUME with MJD-OBS "
                     "to derive one")


def _instrument_from_id(header_id: str) -> str | None:
    prefix = header_id.split(".", 1)[0]
    known = {name[:_ESO_PREFIX_LENGTH]: name for name in VLTI_INSTRUMENTS}
    return known.get(prefix, prefix or None)


def _exposure_time(r: _Reader) -> float | None:
    exptime = r.number("EXPTIME")
    if exptime is not None:
        return exptime
    for dit_key, ndit_key in (("ESO DET DIT", "ESO DET NDIT"), ("ESO DET2 SEQ1 DIT", "ESO DET2 NDIT")):
        dit, ndit = r.number(dit_key, required=False), r.number(ndit_key, required=False)
        if dit is not None and ndit is not None:
            r.log.append(f"EXPTIME derived from {dit_key} x {ndit_key}")
            return dit * ndit
    return None


def _pointing(r: _Reader) -> tuple[float | None, float | None]:
    ra, dec = r.number("RA"), r.number("DEC")
    if ra is not None and dec is not None and ra == 0 and dec == 0:
        r.log.append("RA/DEC are 0/0: pointing unknown")
        return None, None
    if (ra is not None and not 0 <= ra < 360) or (dec is not None and not -90 <= dec <= 90):
        r.log.append(f"RA/DEC out of range: {ra}/{dec}")
        return None, None
    return ra, dec


def _interferometer(r: _Reader, instrument: str | None) -> str | None:
    telescope = r.text("TELESCOP", required=False) or ""
    for name in ("VLTI", "CHARA"):
        if name in telescope.upper():
            return name
    if instrument and instrument.upper() in VLTI_INSTRUMENTS:
        return "VLTI"
    r.missing("TELESCOP")
    return None


def _stations(r: _Reader) -> tuple[tuple[str, ...], tuple[str, ...]]:
    count = r.number("ESO ISS CONF NTEL")
    if count is None:
        count = sum(1 for i in range(1, 10) if f"ESO ISS CONF STATION{i}" in r.keywords)
    stations, telescopes = [], []
    for i in range(1, int(count) + 1):
        station = r.text(f"ESO ISS CONF STATION{i}")
        if station:
            stations.append(station)
        telescope = r.text(f"ESO ISS CONF T{i}NAME", required=False)
        if telescope:
            telescopes.append(telescope)
    return tuple(stations), tuple(telescopes)


def _baselines(r: _Reader, interferometer: str | None, stations: tuple[str, ...], ra: float | None,
               dec: float | None, mjd: float | None, exptime: float | None) -> list[Baseline]:
    pairs = [(i, j) for i in range(1, len(stations) + 1) for j in range(i + 1, len(stations) + 1)]
    if pairs and all(f"ESO ISS PBL{i}{j} START" in r.keywords for i, j in pairs):
        return [_header_baseline(r, stations, i, j) for i, j in pairs]
    for i, j in pairs:
        r.missing(f"ESO ISS PBL{i}{j} START")
    positions = [find_station(interferometer or "", name) for name in stations]
    if not pairs or ra is None or dec is None or mjd is None or None in positions:
        return []
    lst = _lst_deg(r, interferometer or "", mjd)
    if lst is None:
        return []
    r.log.append("projected baselines computed from the station positions")
    # keep the header's station names (U1, not Aspro's UT1)
    known: list[Station] = [replace(p, name=n) for p, n in zip(positions, stations, strict=True) if p is not None]
    return compute_baselines(known, Pointing(ra, dec, mjd, lst, exptime))


def _header_baseline(r: _Reader, stations: tuple[str, ...], i: int, j: int) -> Baseline:
    return Baseline(
        stations[i - 1], stations[j - 1],
        r.number(f"ESO ISS PBL{i}{j} START"), r.number(f"ESO ISS PBL{i}{j} END"),
        r.number(f"ESO ISS PBLA{i}{j} START"), r.number(f"ESO ISS PBLA{i}{j} END"), "header",
    )


def _lst_deg(r: _Reader, interferometer: str, mjd: float) -> float | None:
    lst_s = r.number("LST", required=False)
    if lst_s is not None:
        return lst_s / 86400 * 360
    site = load_sites().get(interferometer.upper())
    if site is None:
        r.missing("LST")
        return None
    r.log.append("LST computed from MJD-OBS and the site longitude")
    return math.degrees(float(erfa.gmst82(2400000.5, mjd))) + site.longitude_deg


def _timestamp(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        return None


def _obs_type(dpr_catg: str | None, ob_name: str | None) -> str | None:
    catg = (dpr_catg or "").upper()
    if catg.startswith("SCIENCE"):
        return "science"
    if catg.startswith("CALIB"):
        return "calibrator"
    name = (ob_name or "").upper()
    if name.startswith("SCI"):
        return "science"
    if name.startswith("CAL"):
        return "calibrator"
    return None


def _known(text: str | None) -> str | None:
    return None if text is None or text.upper() == "UNKNOWN" else text


def _integer(value: float | None) -> int | None:
    return None if value is None else int(value)
