"""Aspro2 OB exports (ESO P2PP ``.obx`` files) → planned observations of ``ivoa.obsplan``.

Aspro2 writes one OB per file (``SCI_<target>_<instrument>_<stations>_<mode>_<night>.obx``: its "Export OB"
for the VLTI instruments), in ESO's P2PP import format ``IMPEX.VERSION "2.0"``: one ``KEY "value"`` per line,
blocks separated by blank lines. What is read, and what it becomes (ObsLocTAP 1.0 §3.4 columns):

- ``TARGET.NAME`` → target_name; ``ra`` (sexagesimal hours) / ``dec`` (J2000) → s_ra / s_dec (degrees);
- ``instrument`` → instrument_name (a VLTI instrument: P2PP is ESO's, so facility_name is VLTI);
  ``OCS.OBS.SPECCONF`` (AMBER), ``INS.DISP.NAME`` (PIONIER), ``INS.SPEC.RES``-``INS.POLA.MODE`` (GRAVITY) or
  ``INS.MODE`` → instrument_mode, whose wavelengths come from the Aspro2 configuration;
  ``Baseline`` (``A1-G1-I1``) → interferometer_stations;
- the time window: ``absolute_times_list`` ``{start end weight}...`` when an interval has a length; else
  Aspro2's night (the date of the list) and the ``STTimeIntervals`` LST range (``start:end;`` seconds) give
  the UTC window of that night at Paranal; category ``Window``. Without either the times stay NULL (``Other``);
- ``userPriority`` (ESO rank, 1 first) → priority 0, 1, 2 (3 and beyond: 2);
- obs_id: the file name without ``.obx`` (Aspro2's full OB name; the ``name`` key is cut to 32 characters).

Every problem of a file is collected, and a file with any is refused whole (``UsageError`` listing them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from jmmctap.catalogues.exposure import VLTI_INSTRUMENTS
from jmmctap.catalogues.instrument_modes import load_instrument_modes
from jmmctap.catalogues.stations import load_sites
from jmmctap.errors import UsageError
from jmmctap.ingest.positions import parse_sexagesimal
from jmmctap.ingest.values import CellError

__all__ = ["PlannedObservation", "read_obx"]

_LINE = re.compile(r'^([A-Za-z][\w.\-]*)\s+"(.*)"\s*$')
_ABSOLUTE = re.compile(r"\{\s*(\S+)\s+(\S+)\s+\S+\s*\}")
_LST = re.compile(r"(\d+):(\d+);?")
_SIDEREAL_PER_SOLAR = 1.00273790935
"""Sidereal seconds per solar second."""
_MJD_EPOCH = datetime(1858, 11, 17, tzinfo=UTC)
_MAX_FILE_BYTES = 1_000_000
"""An OB export is a few kB; anything larger is not one."""


@dataclass(frozen=True)
class PlannedObservation:
    """One planned OB, in ObsLocTAP terms (times MJD, wavelengths m, angles degrees)."""

    obs_id: str
    target_name: str
    s_ra: float
    s_dec: float
    t_min: float | None
    t_max: float | None
    category: str
    priority: int
    facility_name: str
    instrument_name: str
    instrument_mode: str | None
    stations: str | None
    em_min: float | None
    em_max: float | None
    em_res_power: float | None
    source: str


def read_obx(path: Path) -> PlannedObservation:
    """Read and check one Aspro2 OB export.

    Raises
    ------
    UsageError
        Unreadable file, or one that is not a P2PP OB, or any missing or invalid value (all listed).
    """
    try:
        if path.stat().st_size > _MAX_FILE_BYTES:
            raise UsageError(f"{path.name}: larger than {_MAX_FILE_BYTES} bytes, not an OB export")
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        raise UsageError(f"{path.name}: cannot read ({exc.strerror})") from None
    keys: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if match and match[1] not in keys:  # the first block's LineNumber etc. win; later ones repeat them
            keys[match[1]] = match[2].strip()
    problems: list[str] = []
    if keys.get("IMPEX.VERSION") is None or keys.get("type") != "O":
        raise UsageError(f"{path.name}: not an ESO P2PP OB export (no IMPEX.VERSION, or type is not \"O\")")
    target = keys.get("TARGET.NAME") or ""
    if not target:
        problems.append("no TARGET.NAME")
    ra, dec = _angle(keys, "ra", True, problems), _angle(keys, "dec", False, problems)
    instrument = (keys.get("instrument") or "").upper()
    if instrument not in VLTI_INSTRUMENTS:
        problems.append(f"instrument {keys.get('instrument')!r} is not a VLTI instrument "
                        f"({', '.join(sorted(VLTI_INSTRUMENTS))})")
    priority = _priority(keys.get("userPriority"), problems)
    window = _window(keys, problems)
    if problems:
        raise UsageError(f"{path.name}: " + "; ".join(problems))
    mode = _mode(keys)
    coverage = load_instrument_modes().get(("VLTI", instrument, (mode or "").upper()))
    baseline = keys.get("Baseline") or ""
    return PlannedObservation(
        obs_id=path.name.removesuffix(".obx"), target_name=target, s_ra=ra or 0.0, s_dec=dec or 0.0,
        t_min=window[0] if window else None, t_max=window[1] if window else None,
        category="Window" if window else "Other", priority=priority, facility_name="VLTI",
        instrument_name=instrument, instrument_mode=mode, stations=" ".join(baseline.split("-")) or None,
        em_min=coverage[0] if coverage else None, em_max=coverage[1] if coverage else None,
        em_res_power=coverage[2] if coverage else None, source=path.name,
    )


def _angle(keys: dict[str, str], key: str, hours: bool, problems: list[str]) -> float | None:
    try:
        value = parse_sexagesimal(keys.get(key), hours=hours)
    except CellError:
        value = None
    low, high = (0.0, 360.0) if hours else (-90.0, 90.0)
    if value is None or not low <= value < high + (0 if hours else 1e-9):
        problems.append(f"{key} {keys.get(key)!r} is not a J2000 {'right ascension' if hours else 'declination'}")
        return None
    return value


def _priority(text: str | None, problems: list[str]) -> int:
    try:
        rank = int(text or "")
    except ValueError:
        problems.append(f"userPriority {text!r} is not a whole number")
        return 0
    if rank < 1:
        problems.append(f"userPriority {rank} is not a rank (1 is the first)")
        return 0
    return min(rank, 3) - 1


def _mode(keys: dict[str, str]) -> str | None:
    if keys.get("INS.SPEC.RES") and keys.get("INS.POLA.MODE"):
        return f"{keys['INS.SPEC.RES']}-{keys['INS.POLA.MODE']}"
    for key in ("OCS.OBS.SPECCONF", "INS.DISP.NAME", "INS.MODE"):
        if keys.get(key):
            return keys[key]
    return None


def _window(keys: dict[str, str], problems: list[str]) -> tuple[float, float] | None:
    """(t_min, t_max) MJD of the OB's time window, or None when it has none."""
    intervals = []
    for start, end in _ABSOLUTE.findall(keys.get("absolute_times_list") or ""):
        try:
            intervals.append((_utc(start), _utc(end)))
        except ValueError:
            problems.append(f"absolute_times_list interval {start} {end} is not two ISO dates")
            return None
    long_ones = [(s, e) for s, e in intervals if e > s]
    if long_ones:
        return _mjd(min(s for s, _ in long_ones)), _mjd(max(e for _, e in long_ones))
    lst = _LST.match(keys.get("STTimeIntervals") or "")
    if not intervals or lst is None:
        return None
    night = intervals[0][0].date()
    start_s, end_s = int(lst[1]), int(lst[2])
    if not (0 <= start_s <= 86400 and 0 <= end_s <= 86400):
        problems.append(f"STTimeIntervals {keys['STTimeIntervals']!r} is not an LST range in seconds")
        return None
    begin = _lst_after(night, start_s / 3600.0)
    length_s = ((end_s - start_s) % 86400) / _SIDEREAL_PER_SOLAR
    return _mjd(begin), _mjd(begin + timedelta(seconds=length_s))


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _lst_after(night: date, lst_hours: float) -> datetime:
    """First UTC instant after local noon of ``night`` at Paranal when the local sidereal time is ``lst_hours``."""
    longitude = load_sites()["VLTI"].longitude_deg
    noon = datetime(night.year, night.month, night.day, 12, tzinfo=UTC) - timedelta(hours=longitude / 15.0)
    days = (noon - datetime(2000, 1, 1, 12, tzinfo=UTC)).total_seconds() / 86400.0
    gmst = 18.697374558 + 24.06570982441908 * days  # IAU 1982 GMST, hours (UT1 ~ UTC within a second)
    lst_noon = (gmst + longitude / 15.0) % 24.0
    sidereal_wait = (lst_hours - lst_noon) % 24.0
    return noon + timedelta(hours=sidereal_wait / _SIDEREAL_PER_SOLAR)


def _mjd(instant: datetime) -> float:
    return (instant - _MJD_EPOCH).total_seconds() / 86400.0
