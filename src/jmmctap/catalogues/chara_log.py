"""CHARA night logs (the CSV OiDB's ``upload-chara`` imported) → ObsPortal exposures, checked row by row.

The format is the one CHARA sent OiDB (JMMC-OpenDev/oidb ``modules/upload-chara.xql``, the "CHARA Import"
collection): comma-separated, a header line, then one observation a line with 14 fields in this order::

    UT date, star, PI, program, combiner, type, MJD, filter, scopes, B1, B2, B3, t0 observed, t0 at 500 nm

Each row becomes an exposure of the shape ObsPortal's CHARA export carries (``obsportal-dev-spica``):
interferometer CHARA, instrument = the combiner, mode = the filter, with the mode's wavelengths from the Aspro2
configuration; exp_header_id ``<COMBINER>.<UT of the MJD, ISO>``, exp_id that plus ``_1``; stations = the
scopes; obs_type science or calibrator; program and PI as written; exp_tau0 = t0 at 500 nm (milliseconds in
the log). A log gives one time per observation: exp_mjd_end = exp_mjd_start, and the validation log says so
(level 0, as ObsPortal's CHARA rows). The position comes from the star's name (``resolve``), since the log has
none; an unknown name leaves it NULL and is logged.

Checks (every failing row is reported with its line and reason, and a file with any is refused whole): 14
fields; a UT date (YYYY-MM-DD) within a day of the MJD; a star name; a combiner and filter Aspro2 knows at
CHARA; a type (science/object/target or cal/calibrator); scopes that are CHARA stations, B1..B3 empty or a pair
of them; t0 values empty or between 0 and 1000 ms; no observation twice.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from jmmctap.catalogues.embargo import mjd_to_datetime
from jmmctap.catalogues.exposure import Exposure
from jmmctap.catalogues.instrument_modes import InstrumentSetup, load_instrument_modes
from jmmctap.catalogues.stations import find_station
from jmmctap.errors import UsageError

__all__ = ["CHARA_LOG_FIELDS", "Position", "read_chara_log"]

CHARA_LOG_FIELDS = ("ut_date", "star", "pi", "program", "combiner", "type", "mjd", "filter", "scopes",
                    "b1", "b2", "b3", "t0_obs", "t0_500nm")
"""The 14 fields of a CHARA night log line, in order (OiDB upload-chara.xql's column indices)."""

_MAX_FILE_BYTES = 20_000_000
"""A night log is a few kB; a year of them well under this."""

_ONE_TIME = "CHARA night log: one time per observation (exp_mjd_end = exp_mjd_start, no exposure time)"

Position = tuple[float, float, str]
"""(ra, dec, where the name was found), degrees."""

Resolver = Callable[[str], Position | None]
"""Finds a star's position by name, or None."""


@dataclass(frozen=True)
class _Row:
    line: int
    fields: dict[str, str]


def read_chara_log(path: Path, resolve: Resolver) -> list[Exposure]:
    """The exposures of one CHARA night log, every row checked.

    Raises
    ------
    UsageError
        The file is unreadable or not a night log, or rows fail their checks: all of them listed
        (``<file> line <n>: <reason>``).
    """
    try:
        if path.stat().st_size > _MAX_FILE_BYTES:
            raise UsageError(f"{path.name}: larger than {_MAX_FILE_BYTES} bytes, not a night log")
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as exc:
        raise UsageError(f"{path.name}: cannot read ({exc.strerror})") from None
    lines = list(csv.reader(io.StringIO(text), skipinitialspace=True))
    numbered = [(n, [f.strip() for f in fields]) for n, fields in enumerate(lines, start=1)
                if any(f.strip() for f in fields)]
    if not numbered:
        raise UsageError(f"{path.name}: empty night log")
    header_line, header = numbered[0]
    if len(header) != len(CHARA_LOG_FIELDS):
        raise UsageError(f"{path.name} line {header_line}: a CHARA night log starts with a header of "
                         f"{len(CHARA_LOG_FIELDS)} fields ({', '.join(CHARA_LOG_FIELDS)}), got {len(header)}")
    problems: list[str] = []
    exposures: list[Exposure] = []
    seen: dict[str, int] = {}
    for line, fields in numbered[1:]:
        if len(fields) != len(CHARA_LOG_FIELDS):
            problems.append(f"line {line}: {len(fields)} fields instead of {len(CHARA_LOG_FIELDS)}")
            continue
        row = _Row(line, dict(zip(CHARA_LOG_FIELDS, fields, strict=True)))
        reasons: list[str] = []
        exposure = _exposure(row, path.name, resolve, reasons)
        if exposure is not None and exposure.exp_id in seen:
            reasons.append(f"the same observation as line {seen[exposure.exp_id]}")
        if reasons or exposure is None:
            problems.append(f"line {line}: " + "; ".join(reasons))
            continue
        seen[exposure.exp_id] = line
        exposures.append(exposure)
    if problems:
        raise UsageError(f"{path.name}: " + " | ".join(problems))
    if not exposures:
        raise UsageError(f"{path.name}: no observation after the header")
    return exposures


def _exposure(row: _Row, file_name: str, resolve: Resolver, reasons: list[str]) -> Exposure | None:
    f = row.fields
    mjd = _number(f["mjd"], "MJD", reasons, required=True)
    night = _date(f["ut_date"], reasons)
    if mjd is not None and night is not None and abs(mjd_to_datetime(mjd).date() - night) > timedelta(days=1):
        reasons.append(f"MJD {f['mjd']} is not on UT date {f['ut_date']}")
    star = f["star"]
    if not star:
        reasons.append("no star")
    setup = _setup(f["combiner"], f["filter"], reasons)
    obs_type = _type(f["type"], reasons)
    stations = _scopes(f["scopes"], reasons)
    for name in ("b1", "b2", "b3"):
        _baseline(f[name], name.upper(), stations, reasons)
    t0_obs = _number(f["t0_obs"], "t0 observed", reasons, limit=1000.0)
    t0_500 = _number(f["t0_500nm"], "t0 at 500 nm", reasons, limit=1000.0)
    if reasons or mjd is None or setup is None:
        return None
    log = [_ONE_TIME]
    position = resolve(star)
    if position is None:
        log.append(f"position unknown: no star named {star!r} in the JSDC, ObsPortal or ObsCore")
    if t0_obs is not None and t0_500 is None:
        log.append("t0 at 500 nm missing (t0 observed not converted)")
    utc = mjd_to_datetime(mjd).replace(tzinfo=None).isoformat(timespec="milliseconds")
    header_id = f"{setup.instrument_name}.{utc}"
    return Exposure(
        exp_id=f"{header_id}_1", exp_header_id=header_id, source=f"{file_name}#{row.line}",
        mjd_start=mjd, mjd_end=mjd, exptime_s=None,
        ra_deg=position[0] if position else None, dec_deg=position[1] if position else None, target_name=star,
        instrument_name=setup.instrument_name, setup=setup, interferometer_name="CHARA", stations=stations,
        telescopes=(), program_id=f["program"] or None, program_pi_coi=f["pi"] or None,
        ob_id=None, ob_name=None, ob_target_name=None, tpl_id=None, tpl_start=None, tpl_nexp=None, tpl_expno=None,
        dpr_catg=None, dpr_type=None, dpr_tech=None, obs_type=obs_type,
        tau0_s=None if t0_500 is None else t0_500 / 1000.0, seeing_arcsec=None, temperature_c=None, airmass=None,
        baselines=(), validation_log=tuple(log),
    )


def _number(text: str, what: str, reasons: list[str], *, required: bool = False,
            limit: float | None = None) -> float | None:
    if not text:
        if required:
            reasons.append(f"no {what}")
        return None
    try:
        value = float(text)
    except ValueError:
        reasons.append(f"{what} {text!r} is not a number")
        return None
    if value != value or (limit is not None and not 0 <= value <= limit) or (limit is None and value <= 0):
        reasons.append(f"{what} {text!r} is out of range")
        return None
    return value


def _date(text: str, reasons: list[str]) -> date | None:
    if not re.fullmatch(r"\d{4}-\d\d-\d\d", text):
        reasons.append(f"UT date {text!r} is not YYYY-MM-DD")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        reasons.append(f"UT date {text!r} is not a date")
        return None


def _setup(combiner: str, mode: str, reasons: list[str]) -> InstrumentSetup | None:
    modes = load_instrument_modes()
    known = sorted({i for (site, i, _) in modes if site == "CHARA"})
    instrument = combiner.upper()
    if instrument not in known:
        reasons.append(f"combiner {combiner!r} is not a CHARA instrument of the Aspro2 configuration"
                       f" ({', '.join(known)})")
        return None
    coverage = modes.get(("CHARA", instrument, mode.upper()))
    if coverage is None:
        names = sorted(m for (site, i, m) in modes if site == "CHARA" and i == instrument)
        reasons.append(f"filter {mode!r} is not a mode of {instrument} ({', '.join(names)})")
        return None
    return InstrumentSetup("CHARA", instrument, mode, None, *coverage)


def _type(text: str, reasons: list[str]) -> str | None:
    lowered = text.lower()
    if lowered.startswith(("sci", "obj", "target")):
        return "science"
    if lowered.startswith("cal"):
        return "calibrator"
    reasons.append(f"type {text!r} is neither science (science, object, target) nor calibrator (cal)")
    return None


def _scopes(text: str, reasons: list[str]) -> tuple[str, ...]:
    names = tuple(n.upper() for n in re.split(r"[\s\-/]+", text) if n)
    unknown = [n for n in names if find_station("CHARA", n) is None]
    if unknown:
        reasons.append(f"scopes {', '.join(unknown)} are not CHARA stations (S1 S2 E1 E2 W1 W2)")
    if len(set(names)) != len(names):
        reasons.append(f"scopes {text!r} name a telescope twice")
    return names


def _baseline(text: str, what: str, stations: tuple[str, ...], reasons: list[str]) -> None:
    if not text:
        return
    pair = [n.upper() for n in re.split(r"[\s\-/]+", text) if n]
    if len(pair) != 2 or pair[0] == pair[1] or not set(pair) <= set(stations):
        reasons.append(f"{what} {text!r} is not a pair of the scopes")
