"""What the ADQL engine supports, for the TAPRegExt ``<language>`` of the VOSI capabilities (ADQL 2.1 §4.1).

Feature-type IVOIDs are written in lower case, as ADQL 2.1 §4.1 requires (``...tapregext#features-
adqlgeo``). taplint 3.4.7 and TOPCAT 4.8.7 compare them case-sensitively with the TAPRegExt 1.0
spelling (``.../TAPRegExt#...``) and therefore report W-CAP-CULF ("custom feature type") and skip
their geometry/UDF checks: known false positives, accepted to follow the MUST. pyvo and newer
starjava compare IVOIDs case-insensitively, as IVOIDs are.

Only what works end to end is declared; DISTANCE covers both of its signatures.
"""

from __future__ import annotations

__all__ = ["ADQL_VERSIONS", "FEATURE_TYPE_PREFIX", "LANGUAGE_FEATURES", "UDFS", "UDF_FEATURE_TYPE"]

FEATURE_TYPE_PREFIX = "ivo://ivoa.net/std/tapregext#"
"""Lower-case TAPRegExt prefix of the feature-type IVOIDs (ADQL 2.1 §4.1)."""

ADQL_VERSIONS: tuple[tuple[str, str], ...] = (
    ("2.1", "ivo://ivoa.net/std/ADQL#v2.1"),
    ("2.0", "ivo://ivoa.net/std/ADQL#v2.0"),
)
"""(version, ivo-id) pairs of the ADQL language element; ADQL 2.0 queries (BOX, coordinate systems) work too."""

LANGUAGE_FEATURES: dict[str, list[tuple[str, str]]] = {
    FEATURE_TYPE_PREFIX + "features-adqlgeo": [
        ("POINT", "POINT(lon, lat) in degrees; an optional leading coordinate system must be '' or 'ICRS'"),
        ("CIRCLE", "CIRCLE(lon, lat, radius) or CIRCLE(point, radius), degrees, radius at most 90"),
        ("POLYGON", "POLYGON(lon1, lat1, lon2, lat2, lon3, lat3, ...) or POLYGON(point1, point2, point3, ...)"),
        ("BOX", "BOX(lon, lat, width, height) (deprecated): great-circle sides, ADQL 2.1 section 4.2.9"),
        ("REGION", "REGION('STC-S literal'): Position, Circle, Box and Polygon in ICRS"),
        ("CONTAINS", "CONTAINS(a, b) = 1 when a lies inside b; uses the positional indexes"),
        ("INTERSECTS", "INTERSECTS(a, b) = 1 when a and b overlap; a POINT argument means CONTAINS"),
        ("DISTANCE", "DISTANCE(point, point) or DISTANCE(lon1, lat1, lon2, lat2) in degrees;"
                     " DISTANCE(...) < r uses the positional indexes"),
        ("AREA", "AREA(geometry) in square degrees"),
        ("CENTROID", "CENTROID(geometry): a POINT (normalised mean of the vertices for polygons)"),
        ("COORD1", "COORD1(point): longitude in degrees, in [0, 360)"),
        ("COORD2", "COORD2(point): latitude in degrees"),
        ("COORDSYS", "COORDSYS(geometry) (deprecated): always 'ICRS'"),
    ],
    FEATURE_TYPE_PREFIX + "features-adql-string": [
        ("LOWER", "lower-case a string (Unicode-aware)"),
        ("UPPER", "upper-case a string (Unicode-aware)"),
        ("ILIKE", "case-insensitive LIKE"),
    ],
    FEATURE_TYPE_PREFIX + "features-adql-common-table": [("WITH", "named subqueries before the main query")],
    FEATURE_TYPE_PREFIX + "features-adql-sets": [
        ("UNION", "union of two query results ([ALL] keeps duplicates)"),
        ("EXCEPT", "rows of the first result absent from the second"),
        ("INTERSECT", "rows present in both results"),
    ],
    FEATURE_TYPE_PREFIX + "features-adql-type": [
        ("CAST", "CAST to SMALLINT, INTEGER, BIGINT, REAL, DOUBLE PRECISION, CHAR[(n)], VARCHAR[(n)], TIMESTAMP"),
    ],
    FEATURE_TYPE_PREFIX + "features-adql-conditional": [("COALESCE", "first non-NULL argument")],
    FEATURE_TYPE_PREFIX + "features-adql-unit": [
        ("IN_UNIT", "IN_UNIT(column, 'vounit'): the value converted from the column's unit"),
    ],
    FEATURE_TYPE_PREFIX + "features-adql-offset": [("OFFSET", "skip the first rows of the result")],
}
"""Feature type IVOID → (form, description) of each supported optional feature."""

UDF_FEATURE_TYPE = FEATURE_TYPE_PREFIX + "features-udf"
"""Feature type of user-defined functions (TAPRegExt §2.3)."""

UDFS: list[tuple[str, str]] = [
    ("ivo_hasword(haystack VARCHAR(*), needle VARCHAR(*)) -> INTEGER",
     "1 if needle is a word (English stemming, case-insensitive) of haystack, else 0 (RegTAP 1.2 section 9.2)"),
    ("ivo_nocasematch(value VARCHAR(*), pattern VARCHAR(*)) -> INTEGER",
     "1 if value matches the LIKE pattern ignoring case, else 0 (RegTAP 1.2 section 9.2)"),
    ("ivo_hashlist_has(hashlist VARCHAR(*), item VARCHAR(*)) -> INTEGER",
     "1 if item is one of the #-separated words of hashlist, ignoring case, else 0 (RegTAP 1.2 section 9.2)"),
    ("ivo_string_agg(expr VARCHAR(*), delimiter VARCHAR(*)) -> VARCHAR(*)",
     "aggregate: the non-NULL values joined by delimiter, '' for none (RegTAP 1.2 section 9.2)"),
    ("ivo_interval_overlaps(low1 DOUBLE PRECISION, high1 DOUBLE PRECISION, low2 DOUBLE PRECISION,"
     " high2 DOUBLE PRECISION) -> INTEGER",
     "1 if the closed intervals [low1, high1] and [low2, high2] overlap, else 0 (UDF catalogue)"),
]
"""(signature form, description) of each declared UDF, in TAPRegExt form syntax."""
