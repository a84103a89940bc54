"""Fallback loader of the conformance VOTables for the ADQL tests (astropy read + INSERT + publish).

The tests use ``jmmctap.ingest.ingest_files`` (issue 3); this small loader only steps in when the
ingester cannot load the files, so that ADQL tests do not fail for an ingest problem (which the
ingest tests report). Replace it by the ingester once that is settled.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from astropy.io.votable import parse
from psycopg import sql

from jmmctap.tapschema import Column, Schema, Table
from jmmctap.tapschema.publish import publish_schema, publish_table

_PG_TYPES = {"int": "integer", "short": "smallint", "long": "bigint", "double": "double precision", "float": "real",
             "boolean": "boolean", "char": "text", "unicodeChar": "text"}


def load_votable(conn: psycopg.Connection[Any], path: Path, schema: str, table: str, query_role: str) -> None:
    """Create ``schema.table`` from the first TABLE of the VOTable, publish it, index its position."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        votable = parse(str(path)).get_first_table()
    fields = votable.fields
    types = ["timestamp" if f.xtype == "timestamp" else _PG_TYPES[f.datatype] for f in fields]
    name = sql.Identifier(schema, table)
    publish_schema(conn, Schema(schema), query_role)
    conn.execute(sql.SQL("CREATE TABLE {} ({})").format(name, sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(t)) for f, t in zip(fields, types, strict=True))))
    rows = [[_value(row[f.name], row.mask[f.name] if hasattr(row, "mask") else False) for f in fields]
            for row in votable.array]
    with conn.cursor() as cur:
        cur.executemany(sql.SQL("INSERT INTO {} VALUES ({})").format(
            name, sql.SQL(", ").join(sql.Placeholder() * len(fields))), rows)
    names = [f.name for f in fields]
    if "ra" in names and "dec" in names:
        conn.execute(sql.SQL('CREATE INDEX ON {} USING gist (spoint(radians("ra"), radians("dec")))').format(name))
    columns = tuple(
        Column(f"{schema}.{table}", f.name, f.datatype, arraysize=None if f.arraysize is None else str(f.arraysize),
               xtype=f.xtype, unit=None if f.unit is None else str(f.unit), ucd=f.ucd,
               description=f.description, column_index=i)
        for i, f in enumerate(fields))
    publish_table(conn, Table(schema, f"{schema}.{table}", columns=columns), query_role)


def _value(value: Any, masked: Any) -> Any:
    if bool(np.all(masked)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
