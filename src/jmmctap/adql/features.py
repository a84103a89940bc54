"""What the ADQL engine supports, for the TAPRegExt ``<language>`` of the VOSI capabilities (ADQL 2.1 §4.1).

Feature-type IVOIDs are written in lower case, as ADQL 2.1 §4.1 requires (``...tapregext#features-
adqlgeo``). taplint 3.4.7 and TOPCAT 4.8.7 compare them case-sensitively with the TAPRegExt 1.0
spelling (``.../TAPRegExt#...``) and therefore report W-CAP-CULF ("custom feature type") and skip
their geometry/UDF checks: known false positives, accepted to follow the MUST. pyvo and newer
starjava compare IVOIDs case-insensitively, as IVOIDs are.

Only what works end to end is declared. The functions come from the one function table
(``jmmctap.adql.registry``), so a function is declared exactly when the translator knows it; the
features of the grammar (ILIKE, WITH, set operations, CAST, OFFSET) are listed here.
"""

from __future__ import annotations

from jmmctap.adql.registry import ALL_FUNCTIONS
from jmmctap.adql.signature import FEATURE_TYPE_PREFIX, UDF_FEATURE_TYPE, feature_type

__all__ = [
    "ADQL_VERSIONS", "FEATURE_TYPE_PREFIX", "LANGUAGE_FEATURES", "SYNTAX_FEATURES", "UDFS", "UDF_FEATURE_TYPE",
    "language_features",
]

ADQL_VERSIONS: tuple[tuple[str, str], ...] = (
    ("2.1", "ivo://ivoa.net/std/ADQL#v2.1"),
    ("2.0", "ivo://ivoa.net/std/ADQL#v2.0"),
)
"""(version, ivo-id) pairs of the ADQL language element; ADQL 2.0 queries (BOX, coordinate systems) work too."""

SYNTAX_FEATURES: tuple[tuple[str, str, str], ...] = (
    (feature_type("adql-string"), "ILIKE", "case-insensitive LIKE"),
    (feature_type("adql-common-table"), "WITH", "named subqueries before the main query"),
    (feature_type("adql-sets"), "UNION", "union of two query results ([ALL] keeps duplicates)"),
    (feature_type("adql-sets"), "EXCEPT", "rows of the first result absent from the second"),
    (feature_type("adql-sets"), "INTERSECT", "rows present in both results"),
    (feature_type("adql-type"), "CAST",
     "CAST to SMALLINT, INTEGER, BIGINT, REAL, DOUBLE PRECISION, CHAR[(n)], VARCHAR[(n)], TIMESTAMP"),
    (feature_type("adql-offset"), "OFFSET", "skip the first rows of the result"),
)
"""(feature type, form, description) of the optional features that are grammar, not functions."""


def language_features() -> list[tuple[str, str, str]]:
    """(feature type, form, description) of every declared optional feature and UDF, grouped by type."""
    declared = [(f.feature, f.name, f.description) for f in ALL_FUNCTIONS if f.feature and not f.udf]
    declared += SYNTAX_FEATURES
    order = list(dict.fromkeys(kind for kind, _, _ in declared))
    declared.sort(key=lambda feature: order.index(feature[0]))  # stable: table order within a type
    udfs = [(UDF_FEATURE_TYPE, sig.form(f.name.lower()), f.description)
            for f in ALL_FUNCTIONS if f.udf for sig in f.signatures]
    return [(kind, form, text) for kind, form, text in declared if kind] + udfs


LANGUAGE_FEATURES: dict[str, list[tuple[str, str]]] = {}
"""Feature type IVOID → (form, description) of each supported optional feature (UDFs apart)."""
for _kind, _form, _text in language_features():
    if _kind != UDF_FEATURE_TYPE:
        LANGUAGE_FEATURES.setdefault(_kind, []).append((_form, _text))

UDFS: list[tuple[str, str]] = [(form, text) for kind, form, text in language_features() if kind == UDF_FEATURE_TYPE]
"""(signature form, description) of each declared UDF, in TAPRegExt form syntax."""
