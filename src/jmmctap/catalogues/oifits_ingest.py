"""The ``ingest-oifits`` service: OIFITS files → ObsCore granules in ``ivoa.obscore``.

One call is one transaction; invalid files (``oifits.OifitsError``) are reported in
``OifitsIngestReport.rejected`` with the reason and leave no row. Values of valid files that no
observation can have are stored as NULL and listed in ``OifitsIngestReport.flags``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from jmmctap.catalogues.data_rights import refresh_data_rights
from jmmctap.catalogues.eso_ingest import record_ingest
from jmmctap.catalogues.obscore_store import GranuleOptions, granule_flags, upsert_granules
from jmmctap.catalogues.oifits import OifitsError, read_oifits
from jmmctap.tapschema.publish import refresh_row_counts

__all__ = ["OifitsIngestReport", "ingest_oifits_files"]


@dataclass(frozen=True)
class OifitsIngestReport:
    """Outcome of one ``ingest_oifits_files`` call."""

    files: tuple[str, ...]
    granule_ids: tuple[int, ...]
    rejected: tuple[tuple[str, str], ...]
    flags: tuple[str, ...] = ()
    """Values not stored as facts (implausible, or unknown instrument or field of view), one line each."""


def ingest_oifits_files(conn: psycopg.Connection[Any], paths: Sequence[Path],
                        options: GranuleOptions) -> OifitsIngestReport:
    """Check the OIFITS files and upsert their granules, in one transaction (owner connection).

    Parameters
    ----------
    conn
        Connection of the owner role.
    paths
        OIFITS files (version 1 or 2).
    options
        Collection, calibration level, embargo and the other submission fields.
    """
    started = datetime.now(UTC)
    ids: list[int] = []
    files: list[str] = []
    rejected: list[tuple[str, str]] = []
    flags: list[str] = []
    with conn.transaction():
        for path in paths:
            try:
                product = read_oifits(path)
            except OifitsError as exc:
                rejected.append((path.name, exc.message))
                continue
            ids += upsert_granules(conn, product, options)
            flags += [flag for granule in product.granules for flag in granule_flags(product, granule)]
            files.append(path.name)
        refresh_data_rights(conn, ids=ids)  # a private collection keeps its rows proprietary
        record_ingest(conn, "ivoa.obscore", paths, len(ids), started)
        refresh_row_counts(conn, ["ivoa.obscore"])
    return OifitsIngestReport(tuple(files), tuple(ids), tuple(rejected), tuple(flags))
