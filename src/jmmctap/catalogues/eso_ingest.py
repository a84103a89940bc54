"""The ``ingest-eso`` service: ESO headers (or ObsPortal exports) → obsportal exposures, targets, JSDC links, L0.

One call is one transaction: every readable header is stored (differentially), unusable files
are reported in ``EsoIngestReport.rejected`` with the reason, never skipped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from jmmctap.catalogues.eso_header import HeaderSource, read_headers
from jmmctap.catalogues.exposure import Exposure, extract_exposure
from jmmctap.catalogues.obsportal_export import Rejection, open_obsportal_export, read_obsportal_export
from jmmctap.catalogues.obsportal_store import publish_stations, upsert_exposure
from jmmctap.catalogues.targets import DEFAULT_RADIUS_ARCSEC, group_exposures
from jmmctap.errors import UsageError
from jmmctap.ingest.loader import file_checksum, log_ingest
from jmmctap.tapschema.publish import refresh_row_counts

__all__ = ["OBSPORTAL_TABLES", "EsoIngestReport", "ingest_eso_files", "record_ingest", "store_eso_headers"]

OBSPORTAL_TABLES = (
    "obsportal.exposures", "obsportal.baselines", "obsportal.targets", "obsportal.observations",
    "obsportal.programs", "obsportal.instrument_setups", "obsportal.stations", "ivoa.obsplan",
)
"""Tables whose TAP_SCHEMA row counts an ESO ingest refreshes (ivoa.obsplan: a view of the exposures)."""


@dataclass(frozen=True)
class EsoIngestReport:
    """Outcome of one ``ingest_eso_files`` call."""

    inserted: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    rejected: tuple[tuple[str, str], ...]
    new_targets: int
    l0_granules: int

    @property
    def exposures(self) -> int:
        return len(self.inserted) + len(self.updated) + len(self.unchanged)


L0Deriver = Callable[[psycopg.Connection[Any], Sequence[str]], int]
"""Turns the named exposures into calib_level 0 ObsCore granules; returns how many were written."""


def ingest_eso_files(
    conn: psycopg.Connection[Any], paths: Sequence[Path], radius_arcsec: float = DEFAULT_RADIUS_ARCSEC,
    derive_l0: L0Deriver | None = None,
) -> EsoIngestReport:
    """Read, check and store the exposures of ``paths`` in one transaction (owner connection).

    Parameters
    ----------
    conn
        Connection of the owner role.
    paths
        ESO header dumps, FITS files (primary header), ESO archive query tables or ObsPortal VOTable
        exports (``search.votable``).
    radius_arcsec
        Radius for grouping exposures into targets and matching JSDC stars.
    derive_l0
        Optional hook writing the L0 ObsCore granules of the exposures read (returns how many changed).
    """
    started = datetime.now(UTC)
    outcome: dict[str, list[str]] = {"inserted": [], "updated": [], "unchanged": []}
    rejected: list[tuple[str, str]] = []
    with conn.transaction():
        publish_stations(conn)
        for path in paths:
            stored: list[tuple[str, str]] = []
            refused: list[Rejection] = []
            try:
                with conn.transaction():  # a savepoint: a file unreadable half-way leaves nothing behind
                    for item in _exposures(path):
                        if isinstance(item, Exposure):
                            stored.append((upsert_exposure(conn, item), item.exp_id))
                        else:
                            refused.append(item)
            except UsageError as exc:
                rejected.append((path.name, exc.message))
                continue
            rejected += refused
            for what, exp_id in stored:
                outcome[what].append(exp_id)
        grouping = group_exposures(conn, radius_arcsec)
        changed = outcome["inserted"] + outcome["updated"]
        # all exposures read, not only the changed ones: a missing L0 granule is written again
        every = changed + outcome["unchanged"]
        l0 = derive_l0(conn, every) if derive_l0 and every else 0
        record_ingest(conn, "obsportal.exposures", paths, len(changed), started)
        refresh_row_counts(conn, OBSPORTAL_TABLES)
    return EsoIngestReport(tuple(outcome["inserted"]), tuple(outcome["updated"]), tuple(outcome["unchanged"]),
                           tuple(rejected), grouping.new_targets, l0)


def store_eso_headers(
    conn: psycopg.Connection[Any], sources: Sequence[HeaderSource], radius_arcsec: float = DEFAULT_RADIUS_ARCSEC,
    derive_l0: L0Deriver | None = None,
) -> EsoIngestReport:
    """Store the exposures of headers already read, in the caller's transaction (``sync-eso``, one by one).

    The same steps as ``ingest_eso_files`` (validation, stations, baselines, targets, L0 granules) except
    the ingest log and the row counts, which the caller writes once. ``publish_stations`` must have run.
    """
    outcome: dict[str, list[str]] = {"inserted": [], "updated": [], "unchanged": []}
    rejected: list[tuple[str, str]] = []
    for source in sources:
        try:
            exposure = extract_exposure(source)
        except UsageError as exc:
            rejected.append((source.name, exc.message))
            continue
        outcome[upsert_exposure(conn, exposure)].append(exposure.exp_id)
    grouping = group_exposures(conn, radius_arcsec)
    every = outcome["inserted"] + outcome["updated"] + outcome["unchanged"]
    l0 = derive_l0(conn, every) if derive_l0 and every else 0
    return EsoIngestReport(tuple(outcome["inserted"]), tuple(outcome["updated"]), tuple(outcome["unchanged"]),
                           tuple(rejected), grouping.new_targets, l0)


def _exposures(path: Path) -> Iterator[Exposure | Rejection]:
    """The exposures of one file: an ObsPortal export's rows, or each ESO header it holds."""
    export = open_obsportal_export(path)
    if export is not None:
        yield from read_obsportal_export(export)
        return
    for source in read_headers(path):
        try:
            yield extract_exposure(source)
        except UsageError as exc:
            yield (source.name, exc.message)


def record_ingest(conn: psycopg.Connection[Any], table_name: str, paths: Sequence[Path], n_rows: int,
                  started: datetime) -> None:
    """Append one row to the internal ingest log (shown by /health); mode 'update': rows upserted by key."""
    log_ingest(conn, table_name, "update", [p.name for p in paths], [file_checksum(p) for p in paths], n_rows, started)
