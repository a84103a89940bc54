"""The JSDC table (``jsdc.jsdc_v2``): its columns, the SearchCal property behind each, its groups.

The table has VizieR II/346's columns plus, for each value SearchCal (the JSDC pipeline) computes
or takes from a catalogue, that value's origin catalogue and confidence (``Vmag_origin``,
``Vmag_confidence``), published as GROUPs in ``tap_schema.column_groups``. The readers are
``searchcal`` (SearchCal/GetStar VOTables) and ``jsdc_ingest`` (VizieR II/346).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg

__all__ = ["GROUPED_COLUMNS", "JSDC_TABLE", "PLAIN_COLUMNS", "TEXT_COLUMNS", "JsdcGroup", "column_names",
           "publish_jsdc_groups"]

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

PLAIN_COLUMNS = (("LDDCHI", "diam_chi2"), ("CalFlag", "CalFlag"))
"""JSDC columns without origin and confidence, with their SearchCal property."""
TEXT_COLUMNS = frozenset({"Name", "SpType"})


def column_names() -> list[str]:
    """The ``jsdc.jsdc_v2`` columns this module writes, in order."""
    names = ["recno", "Name", "RAJ2000", "DEJ2000"]
    for group in GROUPED_COLUMNS:
        names.append(group.column)
        if group.error:
            names.append(group.error)
        names += [f"{group.column}_origin", f"{group.column}_confidence"]
    return names + [name for name, _ in PLAIN_COLUMNS]


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
