"""Which published tables belong to a catalogue loader, so the generic ingester and ``drop`` leave them alone.

The catalogue schemas are created by sql/0001 and filled by ``load-samples``, ``ingest-eso``,
``ingest-oifits`` and ``ingest-jsdc`` (declared in ``tap_schema/*.yaml`` or loaded from
``catalogue_samples.TABLE_SAMPLES``); replacing one of their tables by hand broke the DALI examples
that rely on them. ``ivoa`` is shared: only ``ivoa.obscore`` and ``ivoa.obsplan`` (a view of obsportal and of
the plans of ``ingest-plan``, sql/0041) are a loader's. OiDB's compatibility views
(``oidb.oidb``, ``public.oidb_datalink``: sql/0030, sql/0031) are views of it, kept by the migrations.
"""

from __future__ import annotations

__all__ = ["LOADER_COMMANDS", "LOADER_SCHEMAS", "LOADER_TABLES", "is_loader_owned"]

LOADER_SCHEMAS = frozenset({"obsportal", "jsdc", "jmdc", "badcal", "spica", "oidb"})
"""PostgreSQL schemas whose every table a catalogue loader owns."""

LOADER_TABLES = frozenset({("ivoa", "obscore"), ("ivoa", "obsplan"), ("public", "oidb_datalink")})
"""Loader-owned tables in shared schemas, as (schema, table) PostgreSQL names."""

LOADER_COMMANDS = "load-samples, ingest-eso, ingest-oifits, ingest-jsdc, ingest-plan, ingest-chara"
"""The commands that own those tables (named in refusals)."""


def is_loader_owned(db_schema: str, db_table: str) -> bool:
    """Whether the PostgreSQL table ``db_schema.db_table`` belongs to a catalogue loader.

    Case-insensitive: ``JMDC.jmdc`` would be another PostgreSQL schema, but the same ADQL name.
    """
    schema, table = db_schema.lower(), db_table.lower()
    return schema in LOADER_SCHEMAS or (schema, table) in LOADER_TABLES
