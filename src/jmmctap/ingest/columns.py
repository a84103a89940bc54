"""Column mapping: a FIELD's datatype/arraysize/xtype → PostgreSQL type and TAP_SCHEMA Column.

Also used by TAP UPLOAD (issue 6): ``map_fields`` gives, for a parsed table, each column's
PostgreSQL DDL and its TAP_SCHEMA ``Column``; ``column_definitions`` composes the DDL list.

==================================  =====================  ==========================
VOTable datatype (arraysize)        PostgreSQL             TAP_SCHEMA datatype
==================================  =====================  ==========================
boolean / bit                       boolean                as in the file
unsignedByte, short                 smallint               as in the file
int / long                          integer / bigint       as in the file
float / double                      real / double prec.    as in the file
floatComplex / doubleComplex        real[] / double[] (2)  as in the file
char, unicodeChar (any arraysize)   text                   as in the file
numeric arrays (``n``, ``*``)       <type>[] (flattened)   as in the file
char + xtype timestamp              timestamp              char, xtype timestamp
double[2] + xtype point             spoint                 double, xtype point
double[3] + xtype circle            scircle                double, xtype circle
double[*] + xtype polygon           spoly                  double, xtype polygon
char + xtype point/circle/polygon   spoint/scircle/spoly   double[2]/[3]/[*], xtype
char + xtype adql:REGION            text                   char, no xtype
bit scalar, bit ``*``/``2x3x*``     boolean, boolean[]     boolean (same arraysize)
complex ``*``/``n*``                real[] / double[]      float/double ``*``/``2n*``
==================================  =====================  ==========================

Geometry xtypes (DALI ``point``, ``circle``, ``polygon``, also spelled ``adql:POINT``...) always mean
a pgsphere column, the only geometry storage the ADQL translator serves: a ``char`` geometry holds
DALI text (``10.5 -20``) or STC-S (``Polygon ICRS 1 2 3 4 5 6``) parsed at ingest; ``adql:REGION``
(STC-S of any shape, TAP 1.0 ObsCore ``s_region``) stays text and loses the xtype; a geometry xtype
on an integer column is dropped. ``arraysize="1"`` is a scalar (VOTable 1.3 Erratum 3): published
without an arraysize.

Scalar bits, variable bit arrays and variable complex arrays are published as the booleans and the
numbers (real, imaginary, real...) they hold: astropy and STIL (so TOPCAT and taplint) do not read
them alike in binary VOTables (``formats.binary2.binary_field``), and a result FIELD must declare
what TAP_SCHEMA does. Fixed bit arrays and fixed or scalar complex numbers keep their datatype.
"""

from __future__ import annotations

import math
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
    "geometry_of",
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
_COMPLEX_PART = {"floatComplex": "float", "doubleComplex": "double"}
_GEOMETRY_ARRAYSIZE = {"point": "2", "circle": "3", "polygon": "*"}
_GEOMETRY_DATATYPES = frozenset({"float", "double", "char", "unicodeChar"})
_REGION_XTYPES = frozenset({"region", "adql:region"})
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


def geometry_of(field: FieldSpec) -> str | None:
    """``point``, ``circle`` or ``polygon`` when the FIELD is stored as that pgsphere geometry, else None."""
    xtype = (field.xtype or "").lower().removeprefix("adql:")
    return xtype if xtype in _GEOMETRY_PG and field.datatype in _GEOMETRY_DATATYPES else None


def pg_type(field: FieldSpec) -> str:
    """PostgreSQL type of a FIELD (see the module table)."""
    geometry = geometry_of(field)
    if geometry is not None:
        return _GEOMETRY_PG[geometry]
    xtype = (field.xtype or "").lower()
    if field.datatype in ("char", "unicodeChar"):
        if xtype in _TIMESTAMP_XTYPES and not is_array(field):
            return "timestamp"
        return "text"
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
    datatype, arraysize, xtype = _published_type(f)
    return Column(
        table_name=table_name, name=name.adql, datatype=datatype, arraysize=arraysize, xtype=xtype,
        description=f.description, utype=f.utype, unit=f.unit, ucd=f.ucd, principal=_is_principal(f.ucd),
        column_index=index,
    )


def _published_type(f: FieldSpec) -> tuple[str, str | None, str | None]:
    """TAP_SCHEMA (datatype, arraysize, xtype): what every output format declares for the stored column."""
    arraysize = None if f.arraysize == "1" else f.arraysize
    geometry = geometry_of(f)
    if geometry is not None:
        datatype = f.datatype if f.datatype in ("float", "double") else "double"
        return datatype, arraysize if datatype == f.datatype else _GEOMETRY_ARRAYSIZE[geometry], geometry
    xtype = (f.xtype or "").lower()
    if xtype in _REGION_XTYPES or xtype.removeprefix("adql:") in _GEOMETRY_PG:
        return f.datatype, arraysize, None  # text or numbers the translator would read as pgsphere
    if pg_type(f) == "timestamp":
        return f.datatype, arraysize, "timestamp"  # adql:TIMESTAMP (TAP 1.0) is what results call timestamp
    variable = (arraysize or "").endswith("*")
    if f.datatype == "bit" and (arraysize is None or variable):
        return "boolean", arraysize, f.xtype  # module docstring: scalar and variable bits are booleans
    if f.datatype in _COMPLEX_PART and variable:
        return _COMPLEX_PART[f.datatype], _parts_arraysize(arraysize or "*"), f.xtype
    return f.datatype, arraysize, f.xtype


def _parts_arraysize(arraysize: str) -> str:
    """The 1-D arraysize of the real and imaginary parts of a variable complex array (``3x4*`` → ``24*``)."""
    dims = arraysize.split("x")
    bound = dims[-1][:-1]
    if not bound or not all(d.isdigit() for d in [*dims[:-1], bound]):
        return "*"
    return f"{2 * math.prod(int(d) for d in [*dims[:-1], bound])}*"


def _is_principal(ucd: str | None) -> bool:
    if not ucd:
        return False
    words = [w.strip().lower() for w in ucd.split(";")]
    return "meta.main" in words or ucd.upper().endswith("_MAIN")
