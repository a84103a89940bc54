"""Column mapping: a FIELD's datatype/arraysize/xtype → PostgreSQL type and TAP_SCHEMA Column.

Also used by TAP UPLOAD (issue 6): ``map_fields`` gives, for a parsed table, each column's
PostgreSQL DDL and its TAP_SCHEMA ``Column``; ``column_definitions`` composes the DDL list.

=================================  =====================  ==========================
VOTable datatype (arraysize)       PostgreSQL             TAP_SCHEMA datatype
=================================  =====================  ==========================
boolean / bit                      boolean                as in the file
unsignedByte, short                smallint               as in the file
int / long                         integer / bigint       as in the file
float / double                     real / double prec.    as in the file
floatComplex / doubleComplex       real[] / double[] (2)  as in the file
char, unicodeChar (any arraysize)  text                   as in the file
numeric arrays (``n``, ``*``)      <type>[] (flattened)   as in the file
char + xtype timestamp             timestamp              char, xtype timestamp
double[2] + xtype point            spoint                 double, xtype point
double[3] + xtype circle           scircle                double, xtype circle
double[*] + xtype polygon          spoly                  double, xtype polygon
=================================  =====================  ==========================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import sql

from jmmctap.ingest.model import FieldSpec, IngestError
from jmmctap.ingest.names import ColumnName, assign_column_names
from jmmctap.tapschema.model import Column

__all__ = [
    "DATATYPES",
    "MappedColumn",
    "column_definitions",
    "is_array",
    "map_fields",
    "normalise_datatype",
    "pg_type",
]

DATATYPES = frozenset({
    "boolean", "bit", "unsignedByte", "short", "int", "long", "char", "unicodeChar",
    "float", "double", "floatComplex", "doubleComplex",
})
"""The VOTable 1.5 §2.1 primitive datatypes."""

_LEGACY_DATATYPES = {"string": "char", "unicodeString": "unicodeChar"}
"""Pre-1.0 names that astropy accepts with warning W13."""

_SCALAR_PG = {
    "boolean": "boolean", "bit": "boolean", "unsignedByte": "smallint", "short": "smallint",
    "int": "integer", "long": "bigint", "float": "real", "double": "double precision",
    "floatComplex": "real[]", "doubleComplex": "double precision[]",
}
_GEOMETRY_PG = {"point": "spoint", "circle": "scircle", "polygon": "spoly"}
_TIMESTAMP_XTYPES = {"timestamp", "adql:timestamp"}


@dataclass(frozen=True)
class MappedColumn:
    """A source column with its PostgreSQL type and TAP_SCHEMA row."""

    field: FieldSpec
    name: ColumnName
    pg_type: str
    """PostgreSQL type, from a fixed list (safe to compose with ``sql.SQL``)."""
    column: Column

    @property
    def ddl(self) -> sql.Composed:
        """``"name" type`` for CREATE TABLE."""
        return sql.SQL("{} {}").format(sql.Identifier(self.name.db), sql.SQL(self.pg_type))


def normalise_datatype(datatype: str | None, *, file: object = None, column: str | None = None) -> str:
    """The VOTable datatype, legacy names mapped; an unknown one is an ``IngestError``."""
    value = _LEGACY_DATATYPES.get(datatype or "", datatype)
    if value not in DATATYPES:
        raise IngestError(f"unknown VOTable datatype {datatype!r}", file=str(file) if file else None,
                          column=column)
    return value


def is_array(field: FieldSpec) -> bool:
    """True when the cells are arrays of numbers/booleans (char arrays of any shape are one string)."""
    if field.datatype in ("char", "unicodeChar"):
        return False
    return field.arraysize is not None and field.arraysize != "1"


def pg_type(field: FieldSpec) -> str:
    """PostgreSQL type of a FIELD (see the module table)."""
    xtype = (field.xtype or "").lower()
    if field.datatype in ("char", "unicodeChar"):
        if xtype in _TIMESTAMP_XTYPES and not is_array(field):
            return "timestamp"
        return "text"
    if xtype in _GEOMETRY_PG and field.datatype in ("float", "double"):
        return _GEOMETRY_PG[xtype]
    base = _SCALAR_PG[field.datatype]
    if is_array(field) and not base.endswith("[]"):
        return base + "[]"
    return base


def map_fields(table_name: str, fields: Sequence[FieldSpec]) -> list[MappedColumn]:
    """Map every FIELD to a PostgreSQL column and a TAP_SCHEMA Column, in file order.

    Parameters
    ----------
    table_name
        TAP_SCHEMA ``table_name`` of the target (``conf.stars``, or ``TAP_UPLOAD.t``).
    fields
        The source columns, datatypes already normalised.

    Returns
    -------
    list of MappedColumn
        One per field; ``column.indexed`` is False (the positions step sets it).
    """
    names = assign_column_names([f.name for f in fields])
    return [
        MappedColumn(field=f, name=n, pg_type=pg_type(f), column=_tap_column(table_name, f, n, i))
        for i, (f, n) in enumerate(zip(fields, names, strict=True))
    ]


def column_definitions(columns: Sequence[MappedColumn]) -> sql.Composed:
    """The comma-separated column list of a CREATE TABLE."""
    return sql.SQL(", ").join(c.ddl for c in columns)


def _tap_column(table_name: str, f: FieldSpec, name: ColumnName, index: int) -> Column:
    return Column(
        table_name=table_name, name=name.adql, datatype=f.datatype, arraysize=f.arraysize, xtype=f.xtype,
        description=f.description, utype=f.utype, unit=f.unit, ucd=f.ucd, principal=_is_principal(f.ucd),
        column_index=index,
    )


def _is_principal(ucd: str | None) -> bool:
    if not ucd:
        return False
    words = [w.strip().lower() for w in ucd.split(";")]
    return "meta.main" in words or ucd.upper().endswith("_MAIN")
