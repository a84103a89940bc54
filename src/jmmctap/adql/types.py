"""ADQL value types, the compiled form of an expression, and their VOTable metadata (ADQL 2.1 §3).

Each compiled expression is a ``Value``: its PostgreSQL text plus what the resolver knows about it.
Geometries stay pgsphere values (``spoint``, ``scircle``, ``spoly``) inside the query and are
converted to DALI arrays in degrees only in the final select list.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from jmmctap.results import ResultColumn
from jmmctap.tapschema import Column

__all__ = ["Kind", "Value", "column_meta", "is_region_column", "kind_of_column", "result_column", "widen"]


class Kind(enum.Enum):
    """What an expression is, as far as ADQL typing cares."""

    SMALLINT = "SMALLINT"
    INTEGER = "INTEGER"
    BIGINT = "BIGINT"
    REAL = "REAL"
    DOUBLE = "DOUBLE PRECISION"
    STRING = "VARCHAR"
    TIMESTAMP = "TIMESTAMP"
    BOOLEAN = "BOOLEAN"
    POINT = "POINT"
    CIRCLE = "CIRCLE"
    POLYGON = "POLYGON"
    BINARY = "VARBINARY"
    ARRAY = "array"
    NULL = "NULL"
    CONDITION = "condition"
    UNKNOWN = "unknown"

    @property
    def numeric(self) -> bool:
        return self in _NUMERIC_RANK

    @property
    def integer(self) -> bool:
        return self in (Kind.SMALLINT, Kind.INTEGER, Kind.BIGINT)

    @property
    def geometry(self) -> bool:
        return self in (Kind.POINT, Kind.CIRCLE, Kind.POLYGON)


_NUMERIC_RANK = {Kind.SMALLINT: 0, Kind.INTEGER: 1, Kind.BIGINT: 2, Kind.REAL: 3, Kind.DOUBLE: 4}


def widen(a: Kind, b: Kind) -> Kind:
    """Result kind of arithmetic between two numeric kinds, as PostgreSQL computes it."""
    if a is Kind.NULL:
        return b
    if b is Kind.NULL:
        return a
    if a.integer and b.integer:
        return a if _NUMERIC_RANK[a] >= _NUMERIC_RANK[b] else b
    if a is Kind.REAL and b is Kind.REAL:
        return Kind.REAL
    return Kind.DOUBLE


@dataclass(frozen=True, slots=True)
class Value:
    """A compiled expression.

    ``meta`` is the metadata of the column it comes from (unit, UCD... kept through MIN/MAX,
    aliases and derived tables); ``exact`` says the value *is* that column, unchanged.
    ``number`` is the value of a constant numeric expression; ``predicate`` is the boolean SQL
    of a 0/1 function (CONTAINS, INTERSECTS) so that
    ``CONTAINS(...) = 1`` becomes an index-friendly condition; ``distance`` the two spoint
    expressions of a DISTANCE (column side first, then whether the other side varies too) for the
    ``DISTANCE(...) < r`` rewrite; ``circle`` the parts of a CIRCLE around a column position (see ``geometry``).
    """

    sql: str
    kind: Kind
    name: str = "expr"
    meta: ResultColumn | None = None
    exact: bool = False
    aggregate: bool = False
    constant: bool = False
    predicate: str | None = None
    distance: tuple[str, str, bool] | None = None
    circle: tuple[str, str] | None = None
    """The centre (spoint SQL) and radius (degrees SQL) of a CIRCLE built from a non-constant centre, so a
    point-in-circle relation can also be written with the centre on the indexed side."""
    unit: str | None = None
    number: float | None = None
    position: tuple[float, float] | None = None
    """(lon, lat) in degrees of a constant POINT, for the checks of constant polygons."""

    def derived(self, sql: str, kind: Kind | None = None, **changes: object) -> Value:
        """A new value computed from this one (no longer the column itself)."""
        return replace(self, sql=sql, kind=kind or self.kind, exact=False, predicate=None, distance=None, circle=None,
                       **changes)  # type: ignore[arg-type]


_DATATYPE_KIND = {
    "short": Kind.SMALLINT, "int": Kind.INTEGER, "long": Kind.BIGINT, "float": Kind.REAL,
    "double": Kind.DOUBLE, "boolean": Kind.BOOLEAN, "char": Kind.STRING, "unicodeChar": Kind.STRING,
    "unsignedByte": Kind.SMALLINT,
}
_XTYPE_KIND = {
    "timestamp": Kind.TIMESTAMP, "adql:timestamp": Kind.TIMESTAMP, "point": Kind.POINT, "adql:point": Kind.POINT,
    "circle": Kind.CIRCLE, "polygon": Kind.POLYGON, "adql:region": Kind.POLYGON, "region": Kind.POLYGON,
}


def kind_of_column(datatype: str, arraysize: str | None, xtype: str | None) -> Kind:
    """The ADQL kind of a published column (TAP_SCHEMA or a result FIELD).

    Geometry xtypes mean a pgsphere column (``spoint``/``scircle``/``spoly``), the storage the
    ingester and the catalogue loaders use.
    """
    if xtype and xtype.lower() in _XTYPE_KIND:
        return _XTYPE_KIND[xtype.lower()]
    kind = _DATATYPE_KIND.get(datatype, Kind.UNKNOWN)
    if arraysize not in (None, "", "1") and kind is not Kind.STRING:
        return Kind.BINARY if datatype == "unsignedByte" else Kind.ARRAY
    return kind


def column_meta(column: Column) -> ResultColumn:
    """The FIELD metadata of a TAP_SCHEMA column."""
    return ResultColumn(
        name=column.identifier.text, datatype=column.datatype, arraysize=column.arraysize, xtype=column.xtype,
        unit=column.unit, ucd=column.ucd, utype=column.utype, description=column.description,
    )


_KIND_FIELD: dict[Kind, tuple[str, str | None, str | None]] = {
    Kind.SMALLINT: ("short", None, None), Kind.INTEGER: ("int", None, None), Kind.BIGINT: ("long", None, None),
    Kind.REAL: ("float", None, None), Kind.DOUBLE: ("double", None, None), Kind.STRING: ("char", "*", None),
    Kind.TIMESTAMP: ("char", "*", "timestamp"), Kind.BOOLEAN: ("boolean", None, None),
    Kind.POINT: ("double", "2", "point"), Kind.CIRCLE: ("double", "3", "circle"),
    Kind.POLYGON: ("double", "*", "polygon"), Kind.BINARY: ("unsignedByte", "*", None),
    Kind.NULL: ("char", "*", None),
}


def is_region_column(value: Value) -> bool:
    """A polygon column declared ``char``/``adql:REGION`` (ObsCore s_region): output as STC-S text."""
    meta = value.meta
    return (value.exact and value.kind is Kind.POLYGON and meta is not None and meta.datatype == "char"
            and (meta.xtype or "").lower() in ("adql:region", "region"))


def result_column(name: str, value: Value) -> ResultColumn:
    """The FIELD of an output column: TAP_SCHEMA metadata for a plain column, else from the kind."""
    meta = value.meta
    if meta is not None and is_region_column(value):
        return replace(meta, name=name)
    if meta is not None and value.exact and value.kind not in _GEOMETRY_OR_TIME:
        return replace(meta, name=name)
    datatype, arraysize, xtype = _KIND_FIELD.get(value.kind, ("char", "*", None))
    if meta is not None and value.exact and value.kind is Kind.STRING:
        datatype, arraysize = meta.datatype, meta.arraysize
    unit = value.unit if value.unit is not None else (meta.unit if meta is not None else None)
    return ResultColumn(
        name=name, datatype=datatype, arraysize=arraysize, xtype=xtype, unit=unit,
        ucd=meta.ucd if meta is not None else None, utype=meta.utype if meta is not None and value.exact else None,
        description=meta.description if meta is not None else None,
    )


_GEOMETRY_OR_TIME = (Kind.POINT, Kind.CIRCLE, Kind.POLYGON, Kind.TIMESTAMP)
