"""Open an input file as a ``TableSource``: FITS by its magic bytes, anything else as a VOTable."""

from __future__ import annotations

from pathlib import Path

from jmmctap.ingest.model import IngestError, ReadLimits, TableSource
from jmmctap.ingest.votable import VOTableSource, opened

__all__ = ["open_source"]

_FITS_MAGIC = b"SIMPLE  ="


def open_source(path: Path, table_index: int = 0, limits: ReadLimits | None = None) -> TableSource:
    """The ``table_index``-th table of a VOTable or FITS file (metadata read, rows not yet).

    ``limits`` bound cells and rows for untrusted files (see ``ReadLimits``).
    """
    if not path.is_file():
        raise IngestError("no such file", file=path)
    with opened(path) as stream:
        head = stream.read(len(_FITS_MAGIC))
    if head == _FITS_MAGIC:
        from jmmctap.ingest.fits import FitsSource

        fits_source: TableSource = FitsSource.open(path, table_index, limits)
        return fits_source
    return VOTableSource.open(path, table_index, limits)
