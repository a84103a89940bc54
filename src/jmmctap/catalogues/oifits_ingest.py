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
from jmmctap.catalogues.obscore_store import OIFITS_MIME_TYPE, GranuleOptions, granule_flags, upsert_granules
from jmmctap.catalogues.oifits import OifitsError, read_oifits
from jmmctap.products.catalog import ProductPublisher, record_granule_files
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
                        options: GranuleOptions, *, products: ProductPublisher | None = None) -> OifitsIngestReport:
    """Check the OIFITS files and upsert their granules, in one transaction (owner connection).

    With ``products``, each file is kept in the product store and its granules' ``access_url`` is its
    URL there, unless ``options.access_url_base`` says the files stay remote (hosted collections).

    Parameters
    ----------
    conn
        Connection of the owner role.
    paths
        OIFITS files (version 1 or 2).
    options
        Collection, calibration level, embargo and the other submission fields.
    products
        The product store and public root (``ProductPublisher.from_settings``); None stores nothing.
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
            if products is None or options.access_url_base:
                ids += upsert_granules(conn, product, options)
            else:
                stored, url = products.keep(path)
                granule_ids = upsert_granules(conn, product, options, url)
                record_granule_files(conn, granule_ids, stored, path.name, OIFITS_MIME_TYPE)
                ids += granule_ids
            flags += [flag for granule in product.granules for flag in granule_flags(product, granule)]
            files.append(path.name)
        refresh_data_rights(conn, ids=ids)  # a private collection keeps its rows proprietary
        record_ingest(conn, "ivoa.obscore", paths, len(ids), started)
        refresh_row_counts(conn, ["ivoa.obscore"])
    return OifitsIngestReport(tuple(files), tuple(ids), tuple(rejected), tuple(flags))
