"""The declared ADQL features and UDFs all work end to end on PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import psycopg
import pytest

import jmmctap.adql
from jmmctap.adql import features, translate
from jmmctap.tapschema import TapSchema

SAMPLES = {
    "POINT": "SELECT POINT('ICRS', ra, dec) FROM adqltest.points WHERE id = 1",
    "CIRCLE": "SELECT CIRCLE(ra, dec, 1) FROM adqltest.points WHERE id = 1",
    "POLYGON": "SELECT POLYGON(POINT(1, 1), POINT(2, 1), POINT(2, 2)) FROM adqltest.points WHERE id = 1",
    "BOX": "SELECT BOX(ra, dec, 1, 2) FROM adqltest.points WHERE id = 1",
    "REGION": "SELECT REGION('Box ICRS 10 20 1 1') FROM adqltest.points WHERE id = 1",
    "CONTAINS": "SELECT CONTAINS(pos, CIRCLE(10, 20, 1)) FROM adqltest.points WHERE id = 1",
    "INTERSECTS": "SELECT INTERSECTS(CIRCLE(pos, 1), CIRCLE(10, 20, 1)) FROM adqltest.points WHERE id = 1",
    "DISTANCE": "SELECT DISTANCE(pos, POINT(1, 2)), DISTANCE(ra, dec, 1, 2) FROM adqltest.points WHERE id = 1",
    "AREA": "SELECT AREA(BOX(10, 20, 1, 1)) FROM adqltest.points WHERE id = 1",
    "CENTROID": "SELECT CENTROID(BOX(10, 20, 1, 1)) FROM adqltest.points WHERE id = 1",
    "COORD1": "SELECT COORD1(pos) FROM adqltest.points WHERE id = 1",
    "COORD2": "SELECT COORD2(pos) FROM adqltest.points WHERE id = 1",
    "COORDSYS": "SELECT COORDSYS(pos) FROM adqltest.points WHERE id = 1",
    "LOWER": "SELECT LOWER(name) FROM adqltest.points WHERE id = 1",
    "UPPER": "SELECT UPPER(name) FROM adqltest.points WHERE id = 1",
    "ILIKE": "SELECT id FROM adqltest.points WHERE name ILIKE 'A%'",
    "WITH": "WITH t AS (SELECT id FROM adqltest.points) SELECT id FROM t WHERE id = 1",
    "UNION": "SELECT id FROM adqltest.points WHERE id = 1 UNION SELECT id FROM adqltest.points WHERE id = 2",
    "EXCEPT": "SELECT id FROM adqltest.points EXCEPT SELECT id FROM adqltest.points WHERE id > 1",
    "INTERSECT": "SELECT id FROM adqltest.points INTERSECT SELECT id FROM adqltest.points WHERE id = 1",
    "CAST": "SELECT CAST(id AS SMALLINT) FROM adqltest.points WHERE id = 1",
    "COALESCE": "SELECT COALESCE(mag, 0) FROM adqltest.points WHERE id = 1",
    "IN_UNIT": "SELECT IN_UNIT(ra, 'rad') FROM adqltest.points WHERE id = 1",
    "OFFSET": "SELECT id FROM adqltest.points ORDER BY id OFFSET 199",
    "ivo_hasword": "SELECT ivo_hasword('quick brown foxes', 'fox') FROM adqltest.points WHERE id = 1",
    "ivo_nocasematch": "SELECT ivo_nocasematch(name, 'ALPHA') FROM adqltest.points WHERE id = 8",
    "ivo_hashlist_has": "SELECT ivo_hashlist_has('a#Beta#c', 'beta') FROM adqltest.points WHERE id = 1",
    "ivo_string_agg": "SELECT ivo_string_agg(name, ',') FROM adqltest.points WHERE id < 3",
    "ivo_interval_overlaps": "SELECT ivo_interval_overlaps(1, 2, 2, 3) FROM adqltest.points WHERE id = 1",
}
EXPECTED_UDF_VALUES = {"ivo_hasword": 1, "ivo_nocasematch": 1, "ivo_hashlist_has": 1, "ivo_interval_overlaps": 1}


def _forms() -> list[str]:
    forms = [form for group in features.LANGUAGE_FEATURES.values() for form, _ in group]
    return forms + [re.match(r"\w+", signature)[0] for signature, _ in features.UDFS]  # type: ignore[index]


def test_the_package_exports_the_translation_interface_only() -> None:
    assert sorted(jmmctap.adql.__all__) == ["Limits", "Translation", "limits_of", "translate", "translate_in_thread"]


def test_feature_types_are_lower_case_ivoids() -> None:
    for feature_type in [*features.LANGUAGE_FEATURES, features.UDF_FEATURE_TYPE]:
        assert feature_type == feature_type.lower() and feature_type.startswith("ivo://ivoa.net/std/tapregext#")


def test_udf_forms_follow_the_tapregext_signature_syntax() -> None:
    for signature, description in features.UDFS:
        assert re.fullmatch(r"ivo_\w+\((\w+ [A-Z ]+(\(\*\))?)(, \w+ [A-Z ]+(\(\*\))?)*\) -> [A-Z ]+(\(\*\))?",
                            signature), signature
        assert description


@pytest.mark.parametrize("form", _forms())
def test_each_declared_feature_works_end_to_end(form: str, adql_tap_schema: TapSchema,
                                                query_conn: psycopg.Connection[Any]) -> None:
    translation = translate(SAMPLES[form], adql_tap_schema)
    with query_conn.transaction():
        rows = query_conn.execute(translation.sql).fetchall()
    assert rows
    if form in EXPECTED_UDF_VALUES:
        assert rows[0][0] == EXPECTED_UDF_VALUES[form]
