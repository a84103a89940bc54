"""JSDC rows (``jsdc.jsdc_v2``) from SearchCal / GetStar VOTables, with their origin and confidence.

SearchCal (the JSDC pipeline) writes one FIELD per property and binds it to its ``X.origin``
(catalogue index) and ``X.confidence`` (LOW/MEDIUM/HIGH index) in a GROUP; a property whose index
is the same on every row gets a PARAM instead of a FIELD. Both are decoded here through the
file's own ``OriginIndexes`` / ``ConfidenceIndexes`` tables (they differ between SearchCal
versions), so ``jsdc.jsdc_v2`` stores the catalogue name (``I/239/hip_main``, ``computed``) and the
confidence word. The VizieR II/346 columns are filled from the SearchCal names (``V`` → ``Vmag``,
``diam_chi2`` → ``LDDCHI``, ``UD_K`` → ``UDDK``); the position is converted to degrees.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from astropy.io.votable import parse
from astropy.io.votable.exceptions import VOWarning

from jmmctap.errors import UsageError
from jmmctap.ingest.positions import parse_sexagesimal

__all__ = ["GROUPED_COLUMNS", "JSDC_TABLE", "JsdcGroup", "publish_jsdc_groups", "read_searchcal"]

JSDC_TABLE = "jsdc.jsdc_v2"
"""The JSDC table (sql/0012, 0015, 0016; tap_schema/32_jsdc.yaml)."""


@dataclass(frozen=True)
class JsdcGroup:
    """A JSDC value column, its SearchCal source property, its error column, and its UCD."""

    column: str
    searchcal: str
    error: str | None
    searchcal_error: str | None
    ucd: str


GROUPED_COLUMNS = (
    JsdcGroup("SpType", "SpType", None, None, "src.spType"),
    JsdcGroup("Bmag", "B", "e_Bmag", "e_B", "phot.mag;em.opt.B"),
    JsdcGroup("Vmag", "V", "e_Vmag", "e_V", "phot.mag;em.opt.V"),
    JsdcGroup("Rmag", "R", None, None, "phot.mag;em.opt.R"),
    JsdcGroup("Imag", "I", None, None, "phot.mag;em.opt.I"),
    JsdcGroup("Jmag", "J", "e_Jmag", "e_J", "phot.mag;em.IR.J"),
    JsdcGroup("Hmag", "H", "e_Hmag", "e_H", "phot.mag;em.IR.H"),
    JsdcGroup("Kmag", "K", "e_Kmag", "e_K", "phot.mag;em.IR.K"),
    JsdcGroup("Lmag", "L", "e_Lmag", "e_L", "phot.mag;em.IR.3-4um"),
    JsdcGroup("Mmag", "M", "e_Mmag", "e_M", "phot.mag;em.IR.4-8um"),
    JsdcGroup("Nmag", "N", "e_Nmag", "e_N", "phot.mag;em.IR.8-15um"),
    JsdcGroup("LDD", "LDD", "e_LDD", "e_LDD", "phys.angSize;src"),
    *(JsdcGroup(f"UDD{band}", f"UD_{band}", None, None, f"phys.angSize;{ucd}")
      for band, ucd in (("B", "em.opt.B"), ("V", "em.opt.V"), ("R", "em.opt.R"), ("I", "em.opt.I"),
                        ("J", "em.IR.J"), ("H", "em.IR.H"), ("K", "em.IR.K"), ("L", "em.IR.3-4um"),
                        ("M", "em.IR.4-8um"), ("N", "em.IR.8-15um"))),
)
"""JSDC columns that carry a SearchCal origin and confidence (``<column>_origin``, ``<column>_confidence``)."""

_PLAIN = (("LDDCHI", "diam_chi2"), ("CalFlag", "CalFlag"))
_TEXT = {"Name", "SpType"}


def column_names() -> list[str]:
    """The ``jsdc.jsdc_v2`` columns this module writes, in order."""
    names = ["recno", "Name", "RAJ2000", "DEJ2000"]
    for group in GROUPED_COLUMNS:
        names.append(group.column)
        if group.error:
            names.append(group.error)
        names += [f"{group.column}_origin", f"{group.column}_confidence"]
    return names + [name for name, _ in _PLAIN]


def read_searchcal(path: Path, first_recno: int) -> list[dict[str, Any]]:
    """The JSDC rows of a SearchCal or GetStar VOTable (stars with a computed LDD only).

    ``recno`` numbers the rows from ``first_recno`` in file order, so a reload gives the same keys.

    Raises
    ------
    UsageError
        The file is not a readable VOTable or lacks the SearchCal JSDC columns.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VOWarning)
            table = parse(str(path)).get_first_table()
    except Exception as exc:  # astropy raises many types for a broken file
        raise UsageError(f"{path.name}: not a readable VOTable: {exc}") from None
    data = table.array
    names = {f.name for f in table.fields}  # data is indexed by name too (numpy titles)
    missing = {"RAJ2000", "DEJ2000", "LDD", "e_LDD", "diam_chi2", "CalFlag"} - names
    if missing:
        raise UsageError(f"{path.name}: not a SearchCal JSDC table (missing {', '.join(sorted(missing))})")
    params = {p.name: p for p in table.params}
    origins, confidences = _index_labels(params, "OriginIndexes"), _index_labels(params, "ConfidenceIndexes")
    rows: list[dict[str, Any]] = []
    for i in range(len(data)):
        row = _row(data, i, names, params, origins, confidences)
        if row["LDD"] is not None:
            row["recno"] = first_recno + len(rows)
            rows.append(row)
    return rows


def publish_jsdc_groups(conn: psycopg.Connection[Any]) -> None:
    """Describe the SearchCal groups of ``jsdc.jsdc_v2`` in ``tap_schema.column_groups`` (idempotent)."""
    conn.execute("DELETE FROM tap_schema.column_groups WHERE table_name = %s", [JSDC_TABLE])
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO tap_schema.column_groups (table_name, group_index, group_name, group_ucd,
                   group_description, member_name, member_kind, role) VALUES (%s, %s, %s, %s, %s, %s, 'column', %s)""",
            list(_group_rows()),
        )


def _group_rows() -> Iterator[tuple[object, ...]]:
    for index, group in enumerate(GROUPED_COLUMNS):
        text = f"{group.column} with its SearchCal origin catalogue and confidence" + (
            " and its error" if group.error else "")
        members = [(group.column, "value"), (f"{group.column}_origin", "origin"),
                   (f"{group.column}_confidence", "confidence")]
        if group.error:
            members.insert(1, (group.error, "error"))
        for member, role in members:
            yield JSDC_TABLE, index, group.column, group.ucd, text, member, role


def _index_labels(params: dict[str, Any], name: str) -> dict[int, str]:
    param = params.get(name)
    if param is None or param.values is None:
        return {}
    return {int(code): str(label) for code, label in param.values.options}


def _row(data: Any, i: int, names: set[str], params: dict[str, Any], origins: dict[int, str],
         confidences: dict[int, str]) -> dict[str, Any]:
    ra, dec = data["RAJ2000"][i], data["DEJ2000"][i]
    row: dict[str, Any] = {
        "RAJ2000": parse_sexagesimal(str(ra), hours=True),
        "DEJ2000": parse_sexagesimal(str(dec), hours=False),
        "Name": _name(data, i, names),
    }
    for group in GROUPED_COLUMNS:
        row[group.column] = _cell(data, i, group.searchcal, names, text=group.column in _TEXT)
        if group.error and group.searchcal_error:
            row[group.error] = _cell(data, i, group.searchcal_error, names)
        origin = _index(data, i, f"{group.searchcal}.origin", names, params)
        confidence = _index(data, i, f"{group.searchcal}.confidence", names, params)
        has_value = row[group.column] is not None
        row[f"{group.column}_origin"] = origins.get(origin, str(origin)) if has_value and origin is not None else None
        row[f"{group.column}_confidence"] = (confidences.get(confidence, str(confidence))
                                             if has_value and confidence is not None else None)
    for column, source in _PLAIN:
        row[column] = _cell(data, i, source, names)
    if row["CalFlag"] is not None:
        row["CalFlag"] = int(row["CalFlag"])
    if row["RAJ2000"] is None or row["DEJ2000"] is None:
        raise UsageError(f"row {i + 1}: unreadable position {ra!r} {dec!r}")
    return row


def _name(data: Any, i: int, names: set[str]) -> str:
    for column, prefix in (("Name", ""), ("HD", "HD "), ("HIP", "HIP "), ("SIMBAD", "")):
        value = _cell(data, i, column, names, text=True) if column in names else None
        if value:
            return f"{prefix}{value}"
    return f"J2000 {data['RAJ2000'][i]} {data['DEJ2000'][i]}"


def _cell(data: Any, i: int, column: str, names: set[str], *, text: bool = False) -> Any:
    if column not in names:
        return None
    value = data[column][i]
    if value is np.ma.masked:
        return None
    if text:
        value = str(value).strip()
        return value or None
    number = float(value)
    return None if math.isnan(number) else number


def _index(data: Any, i: int, name: str, names: set[str], params: dict[str, Any]) -> int | None:
    if name in names:
        value = data[name][i]
        return None if value is np.ma.masked else int(value)
    param = params.get(name)
    if param is None or param.value is None or param.value is np.ma.masked:
        return None
    return int(param.value)
