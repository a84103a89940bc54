"""Search forms built from TAP_SCHEMA, and the ADQL a filled form asks.

Which inputs a table gets is read from its columns' UCDs, not written per column: a position pair
(``pos.eq.ra``/``pos.eq.dec``) gives a cone, ``meta.id;src`` or a main identifier a target name,
``meta.id;instr`` an instrument, ``meta.id;obs.proposal`` a programme, ``time.start``/``time.end`` (MJD)
a date range, ``meta.code;obs.calib`` a calibration level, principal ``phys.angSize``/``phot.mag`` columns
value ranges. A new catalogue gets a form by being published with its UCDs. The ADQL is shown to the
user and runs through the TAP path like any other query; values enter it only as checked numbers or
quoted strings, names only as TAP_SCHEMA gives them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from jmmctap.adql.registry import RESERVED_WORDS
from jmmctap.errors import UsageError
from jmmctap.tapschema import Column, Table

__all__ = [
    "FAMILIES", "Family", "Field", "Position", "SearchForm", "adql_name", "adql_string", "build_form", "form_adql",
    "mjd_of",
]

FieldKind = Literal["target", "text", "range", "dates", "choice"]

MAX_RANGES = 6
"""Value-range inputs per form (the principal columns first): a form, not a column browser."""

DEFAULT_RADIUS_ARCMIN = 1.0
"""Cone radius when the user gives a position without one."""

_MJD_EPOCH = date(1858, 11, 17)
_REGULAR = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Family:
    """A catalogue family of the portal: its key in URLs, its table and its title."""

    key: str
    table: str
    title: str


FAMILIES = (
    Family("obscore", "ivoa.obscore", "OiDB data products (ObsCore)"),
    Family("obsportal", "obsportal.exposures", "VLTI and CHARA observation logs (ObsPortal)"),
    Family("jsdc", "jsdc.jsdc_v2", "JSDC calibrator stars"),
)
"""The families with a search form on the landing page (any other published table gets the generic one)."""


@dataclass(frozen=True)
class Field:
    """One input of a form; ``key`` names its parameter(s) (``key``, or ``key_min``/``key_max``)."""

    kind: FieldKind
    key: str
    label: str
    columns: tuple[Column, ...]
    choices: tuple[str, ...] = ()

    @property
    def unit(self) -> str | None:
        return self.columns[0].unit if self.columns else None


@dataclass(frozen=True)
class Position:
    """A cone centre (ICRS degrees) and where it came from (a name's catalogue, or typed coordinates)."""

    ra: float
    dec: float
    source: str


@dataclass(frozen=True)
class SearchForm:
    """The form of one table: a position pair (or None) and its other fields."""

    key: str
    title: str
    table: Table
    ra: Column | None
    dec: Column | None
    fields: tuple[Field, ...]

    def result_columns(self) -> tuple[Column, ...]:
        """What a search shows: the principal columns (all of them when none is principal)."""
        principal = tuple(c for c in self.table.columns if c.principal)
        return principal or self.table.columns


def build_form(key: str, title: str, table: Table) -> SearchForm:
    """The search form of ``table``, from its columns' UCDs (see the module docstring)."""
    columns = table.columns
    ra, dec = _position_pair(columns)
    fields: list[Field] = []
    name = (_first(columns, "meta.id;src".__eq__, text_only=True)
            or _first(columns, "meta.id;meta.main".__eq__, text_only=True))
    if name is not None:
        fields.append(Field("text", "name", "Name contains", (name,)))
    for ucd, key_, label in (("meta.id;instr", "instrument", "Instrument"),
                             ("meta.id;obs.proposal", "programme", "Programme")):
        column = _first(columns, ucd.__eq__, text_only=True)
        if column is not None:
            fields.append(Field("text", key_, label, (column,)))
    start = _first(columns, lambda u: u.startswith("time.start"), unit="d")
    end = _first(columns, lambda u: u.startswith("time.end"), unit="d") or start
    if start is not None and end is not None:
        fields.append(Field("dates", "date", "Observed between", (start, end)))
    calib = _first(columns, "meta.code;obs.calib".__eq__)
    if calib is not None:
        fields.append(Field("choice", "calib", "Calibration level", (calib,), ("0", "1", "2", "3")))
    ranges = [c for c in columns if _is_range(c)]
    ranges.sort(key=lambda c: not c.principal)
    fields.extend(Field("range", c.name, c.description or c.name, (c,)) for c in ranges[:MAX_RANGES])
    return SearchForm(key, title, table, ra, dec, tuple(fields))


def form_adql(form: SearchForm, values: Mapping[str, str], position: Position | None, radius_deg: float, *,
              order: str | None = None, descending: bool = False, offset: int = 0) -> str:
    """The ADQL of a filled form (``values`` by parameter name); raises ``UsageError`` on a bad value."""
    conditions: list[str] = []
    if position is not None and form.ra is not None and form.dec is not None:
        conditions.append(f"1 = CONTAINS(POINT('ICRS', {adql_name(form.ra)}, {adql_name(form.dec)}),"
                          f" CIRCLE('ICRS', {position.ra!r}, {position.dec!r}, {radius_deg!r}))")
    for field in form.fields:
        conditions.extend(_conditions(field, values))
    shown = ", ".join(adql_name(c) for c in form.result_columns())
    text = f"SELECT {shown}\nFROM {form.table.name}"
    if conditions:
        text += "\nWHERE " + "\n  AND ".join(conditions)
    if order is not None:
        column = next((c for c in form.table.columns if c.name == order), None)
        if column is None:
            raise UsageError(f"cannot sort on {order!r}: not a column of {form.table.name}")
        text += f"\nORDER BY {adql_name(column)}{' DESC' if descending else ''}"
    if offset:
        text += f"\nOFFSET {int(offset)}"
    return text


def adql_name(column: Column) -> str:
    """The column's name as ADQL reads it (delimited when it is not a regular identifier)."""
    name = column.name
    if _REGULAR.match(name) and name.upper() not in RESERVED_WORDS:
        return name
    return '"' + name.strip('"').replace('"', '""') + '"'


def adql_string(text: str) -> str:
    """An ADQL character literal."""
    return "'" + text.replace("'", "''") + "'"


def mjd_of(day: date) -> float:
    """The MJD at 0h UTC of ``day``."""
    return float((day - _MJD_EPOCH).days)


def _conditions(field: Field, values: Mapping[str, str]) -> list[str]:
    """The ADQL conditions of one field (none when left empty)."""
    if field.kind == "text":
        text = values.get(field.key, "").strip()
        if not text:
            return []
        pattern = "%" + re.sub(r"[%_\\]", "", text).replace(" ", "%") + "%"
        return [f"{adql_name(field.columns[0])} ILIKE {adql_string(pattern)}"]
    if field.kind == "choice":
        value = values.get(field.key, "").strip()
        if not value:
            return []
        if value not in field.choices:
            raise UsageError(f"{field.label}: {value!r} is not one of {', '.join(field.choices)}")
        return [f"{adql_name(field.columns[0])} = {int(value)}"]
    if field.kind == "dates":
        low, high = (_date(values, f"{field.key}_{end}", field.label) for end in ("min", "max"))
        start, stop = field.columns
        found = []
        if low is not None:
            found.append(f"{adql_name(stop)} >= {mjd_of(low)!r}")
        if high is not None:
            found.append(f"{adql_name(start)} < {mjd_of(high) + 1!r}")
        return found
    low_value, high_value = (_number(values, f"{field.key}_{end}", field.label) for end in ("min", "max"))
    column = adql_name(field.columns[0])
    return ([f"{column} >= {low_value!r}"] if low_value is not None else []) + (
        [f"{column} <= {high_value!r}"] if high_value is not None else [])


def _number(values: Mapping[str, str], key: str, label: str) -> float | None:
    text = values.get(key, "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{label}: {text!r} is not a number") from None


def _date(values: Mapping[str, str], key: str, label: str) -> date | None:
    text = values.get(key, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{label}: {text!r} is not a date (YYYY-MM-DD)") from None


def _position_pair(columns: tuple[Column, ...]) -> tuple[Column | None, Column | None]:
    """The main RA/Dec columns: those marked ``meta.main`` first, else the first pair."""
    for suffix in (";meta.main", ""):
        ra = _first(columns, ("pos.eq.ra" + suffix).__eq__)
        dec = _first(columns, ("pos.eq.dec" + suffix).__eq__)
        if ra is not None and dec is not None:
            return ra, dec
    return None, None


def _first(columns: tuple[Column, ...], test: Callable[[str], bool], *, text_only: bool = False,
           unit: str | None = None) -> Column | None:
    for column in columns:
        ucd = (column.ucd or "").strip()
        if not ucd or not test(ucd):
            continue
        if text_only and column.datatype not in ("char", "unicodeChar"):
            continue
        if unit is not None and column.unit != unit:
            continue
        return column
    return None


def _is_range(column: Column) -> bool:
    ucd = (column.ucd or "").lower()
    numeric = column.datatype in ("short", "int", "long", "float", "double") and not column.arraysize
    return numeric and ((ucd.startswith("phys.angsize") and "instr.fov" not in ucd)
                        or ucd.startswith("phot.mag")) and column.principal
