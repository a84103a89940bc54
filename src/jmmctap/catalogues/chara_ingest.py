"""The ``ingest-chara`` service: CHARA night logs → obsportal exposures (beside the VLTI ones), L0 granules, obsplan.

All or nothing: every log is read and checked first (``chara_log``), star names are resolved against the
catalogues already loaded, and one bad row refuses the call (``UsageError`` listing every file, line and
reason) before anything is written. The exposures are then upserted as ``ingest-eso`` does (differential,
same store), grouped into targets, and given their ``chara_import`` L0 granules, in one transaction; they
appear in ``ivoa.obsplan`` as Performed observations at once (a view).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from jmmctap.catalogues.all_or_nothing import read_all_or_refuse
from jmmctap.catalogues.chara_log import Position, read_chara_log
from jmmctap.catalogues.eso_ingest import OBSPORTAL_TABLES, EsoIngestReport, L0Deriver, record_ingest
from jmmctap.catalogues.exposure import Exposure
from jmmctap.catalogues.obsportal_store import publish_stations, upsert_exposure
from jmmctap.catalogues.targets import DEFAULT_RADIUS_ARCSEC, group_exposures
from jmmctap.tapschema.publish import refresh_row_counts

__all__ = ["ingest_chara_files", "star_key"]

# A name's key: lower case without SIMBAD's object-type prefix ("* ", "V* ") and without spaces or underscores,
# so "del Cas", "* del Cas" and "DEL_CAS" meet; star_key is the same in Python. First the JSDC, then the targets
# ObsPortal grouped, then ObsCore granules.
_RESOLVE = r"""
SELECT ra, dec, origin FROM (
    SELECT "RAJ2000" AS ra, "DEJ2000" AS dec, 'jsdc.jsdc_v2' AS origin, 1 AS rank FROM jsdc.jsdc_v2
    WHERE lower(regexp_replace(regexp_replace("Name", '^[A-Za-z]*\* +', ''), '[\s_]+', '', 'g')) = %(key)s
    UNION ALL
    SELECT target_ra, target_dec, 'obsportal.targets', 2 FROM obsportal.targets
    WHERE lower(regexp_replace(regexp_replace(target_name, '^[A-Za-z]*\* +', ''), '[\s_]+', '', 'g')) = %(key)s
    UNION ALL
    SELECT s_ra, s_dec, 'ivoa.obscore', 3 FROM ivoa.obscore
    WHERE lower(regexp_replace(regexp_replace(target_name, '^[A-Za-z]*\* +', ''), '[\s_]+', '', 'g')) = %(key)s
      AND s_ra IS NOT NULL
) found ORDER BY rank LIMIT 1
"""


def star_key(name: str) -> str:
    """The key star names are matched by (the expression of ``_RESOLVE``)."""
    return re.sub(r"[\s_]+", "", re.sub(r"^[A-Za-z]*\* +", "", name)).lower()


def ingest_chara_files(
    conn: psycopg.Connection[Any], paths: Sequence[Path], radius_arcsec: float = DEFAULT_RADIUS_ARCSEC,
    derive_l0: L0Deriver | None = None,
) -> EsoIngestReport:
    """Check every night log of ``paths``, then store their exposures in one transaction (owner connection).

    Parameters
    ----------
    conn
        Connection of the owner role.
    paths
        CHARA night logs (CSV, see ``chara_log``).
    radius_arcsec
        Radius for grouping exposures into targets and matching JSDC stars.
    derive_l0
        Optional hook writing the L0 ObsCore granules of the exposures (``obscore_l0.derive_l0_granules``).

    Raises
    ------
    UsageError
        A log is unreadable or has rows that fail their checks; nothing is written.
    """
    started = datetime.now(UTC)
    cache: dict[str, Position | None] = {}

    def resolve(name: str) -> Position | None:
        key = star_key(name)
        if key not in cache:
            row = conn.execute(_RESOLVE, {"key": key}).fetchone()
            cache[key] = None if row is None else (float(row[0]), float(row[1]), str(row[2]))
        return cache[key]

    exposures: list[Exposure] = read_all_or_refuse(
        paths, lambda path: read_chara_log(path, resolve), lambda e: e.exp_id, lambda e: e.source,
        what="night logs", same="observation")
    outcome: dict[str, list[str]] = {"inserted": [], "updated": [], "unchanged": []}
    with conn.transaction():
        publish_stations(conn)
        for exposure in exposures:
            outcome[upsert_exposure(conn, exposure)].append(exposure.exp_id)
        grouping = group_exposures(conn, radius_arcsec)
        every = [e.exp_id for e in exposures]
        l0 = derive_l0(conn, every) if derive_l0 else 0
        record_ingest(conn, "obsportal.exposures", paths, len(outcome["inserted"]) + len(outcome["updated"]), started)
        refresh_row_counts(conn, OBSPORTAL_TABLES)
    return EsoIngestReport(tuple(outcome["inserted"]), tuple(outcome["updated"]), tuple(outcome["unchanged"]),
                           (), grouping.new_targets, l0)
