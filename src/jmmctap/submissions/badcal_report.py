"""A BadCal report as a user submits it (position, star, observation, submitter), checked field by field.

The fields are those of ``badcal.valid_stars`` (sql/0017, tap_schema/40_badcal.yaml) without ``id`` and
``sub_date``, which the server sets. The position is ``ra``/``dec`` in decimal degrees (ICRS), given at the
top level or as ``position`` (``{"ra": …, "dec": …}`` or ``[ra, dec]``); ``obs_date`` is an ISO 8601 date or
date-time (UTC when it has no offset); ``wavelength`` is in micrometres.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from jmmctap.errors import UsageError

__all__ = ["REPORT_FIELDS", "BadcalReport", "parse_report"]

REPORT_FIELDS = ("name", "ra", "dec", "obs_date", "interferometer", "insname", "baseline", "wavelength",
                 "user_name", "user_affiliation", "user_comment")
"""What a submitter gives, in the order of ``badcal.valid_stars``."""

_TEXT_MAX_CHARS = {"name": 200, "interferometer": 100, "insname": 100, "baseline": 200, "user_name": 200,
                   "user_affiliation": 500, "user_comment": 4000}
"""Longest value of each text field, characters."""

_ACCEPTED = frozenset({*REPORT_FIELDS, "position"})


@dataclass(frozen=True)
class BadcalReport:
    """One report, validated: ``name``, ``ra`` and ``dec`` are required, the rest may be None."""

    name: str
    ra: float
    dec: float
    obs_date: datetime | None = None
    interferometer: str | None = None
    insname: str | None = None
    baseline: str | None = None
    wavelength: float | None = None
    user_name: str | None = None
    user_affiliation: str | None = None
    user_comment: str | None = None

    def values(self) -> list[Any]:
        """The values in ``REPORT_FIELDS`` order (for SQL parameters)."""
        fields = asdict(self)
        return [fields[name] for name in REPORT_FIELDS]


def parse_report(data: Mapping[str, Any], default_user_name: str) -> BadcalReport:
    """Check a submitted report (a JSON object or form fields); ``user_name`` defaults to the login.

    Raises
    ------
    UsageError
        An unknown field, a missing name or position, a value of the wrong type, out of range or too long.
    """
    unknown = sorted(str(k) for k in data if k not in _ACCEPTED)
    if unknown:
        raise UsageError(f"unknown field(s) {', '.join(unknown)}: a report has {', '.join(REPORT_FIELDS)}")
    ra, dec = _position(data)
    texts = {name: _text(data, name) for name in _TEXT_MAX_CHARS}
    if texts["name"] is None:
        raise UsageError("name is required: the star as reported (resolvable by Simbad)")
    wavelength = _number(data, "wavelength") if data.get("wavelength") not in (None, "") else None
    if wavelength is not None and not wavelength > 0:
        raise UsageError(f"wavelength must be positive (micrometres), not {wavelength}")
    return BadcalReport(
        name=texts["name"], ra=ra, dec=dec, obs_date=_date(data.get("obs_date")),
        interferometer=texts["interferometer"], insname=texts["insname"], baseline=texts["baseline"],
        wavelength=wavelength, user_name=texts["user_name"] or default_user_name,
        user_affiliation=texts["user_affiliation"], user_comment=texts["user_comment"],
    )


def _position(data: Mapping[str, Any]) -> tuple[float, float]:
    position = data.get("position")
    if position is not None:
        if isinstance(position, Mapping):
            data = position
        elif isinstance(position, list | tuple) and len(position) == 2:
            data = {"ra": position[0], "dec": position[1]}
        else:
            raise UsageError('position must be {"ra": RA, "dec": DEC} or [RA, DEC], in decimal degrees')
    if data.get("ra") in (None, "") or data.get("dec") in (None, ""):
        raise UsageError("ra and dec are required (ICRS, decimal degrees)")
    ra, dec = _number(data, "ra"), _number(data, "dec")
    if not 0 <= ra <= 360:
        raise UsageError(f"ra must be between 0 and 360 degrees, not {ra}")
    if not -90 <= dec <= 90:
        raise UsageError(f"dec must be between -90 and 90 degrees, not {dec}")
    return ra % 360.0, dec


def _number(data: Mapping[str, Any], name: str) -> float:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UsageError(f"{name} must be a number, not {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise UsageError(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise UsageError(f"{name} must be a finite number, not {value!r}")
    return number


def _text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise UsageError(f"{name} must be text, not {value!r}")
    value = value.strip()
    if "\x00" in value:
        raise UsageError(f"{name} contains a NUL character")
    if len(value) > _TEXT_MAX_CHARS[name]:
        raise UsageError(f"{name} is longer than {_TEXT_MAX_CHARS[name]} characters")
    return value or None


def _date(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise UsageError(f"obs_date must be an ISO 8601 date or date-time, not {value!r}")
    try:
        parsed = datetime.fromisoformat(value.strip())  # a date alone is its midnight
    except ValueError:
        raise UsageError(f"obs_date must be an ISO 8601 date or date-time, not {value!r}") from None
    if parsed.tzinfo is not None:  # the column is UTC without a zone, as sub_date
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed
