"""votable2tap: load VOTable and FITS tables into PostgreSQL and describe them in TAP_SCHEMA.

``ingest_files`` is the one entry point (CLI ``jmmctap ingest``, later the HTTP ingest API and the
catalogue loaders). ``map_fields`` and ``open_source`` are reusable on their own (TAP UPLOAD).
"""

from __future__ import annotations

from jmmctap.ingest.columns import MappedColumn, column_definitions, map_fields
from jmmctap.ingest.model import FieldSpec, IngestError, ReadLimits, Row, TableSource, TableSpec
from jmmctap.ingest.pipeline import MODES, ingest_files, parse_target
from jmmctap.ingest.report import IngestReport
from jmmctap.ingest.sources import open_source

__all__ = [
    "MODES",
    "FieldSpec",
    "IngestError",
    "IngestReport",
    "MappedColumn",
    "ReadLimits",
    "Row",
    "TableSource",
    "TableSpec",
    "column_definitions",
    "ingest_files",
    "map_fields",
    "open_source",
    "parse_target",
]
