"""One function table: declared in /tap/capabilities exactly when translatable; reserved words shared with ingest."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from lxml import etree

from jmmctap.adql import translate
from jmmctap.adql.features import SYNTAX_FEATURES
from jmmctap.adql.registry import ALL_FUNCTIONS, FUNCTION_BY_NAME, RESERVED_WORDS, SQL92_RESERVED_WORDS, SQL_FUNCTIONS
from jmmctap.db.connect import conninfos
from jmmctap.errors import AdqlError
from jmmctap.ingest import ingest_files
from jmmctap.ingest.names import assign_column_names
from jmmctap.settings import Settings
from jmmctap.tapschema import TapSchema
from tests.adql.test_features import SAMPLES
from tests.adql.test_robustness import SQL_WORDS

ADQL_MANDATORY_FUNCTIONS = frozenset({
    "ABS", "CEILING", "DEGREES", "EXP", "FLOOR", "LOG", "LOG10", "MOD", "PI", "POWER", "RADIANS", "RAND", "ROUND",
    "SQRT", "TRUNCATE", "ACOS", "ASIN", "ATAN", "ATAN2", "COS", "COT", "SIN", "TAN",
    "AVG", "COUNT", "MAX", "MIN", "SUM",
})
"""ADQL 2.1 §2.3 math/trigonometric functions and the SQL aggregates: every service has them, none is declared."""

_TR = "{http://www.ivoa.net/xml/TAPRegExt/v1.0}"
_TABLE = "TAP_SCHEMA.tables"


async def _declared_forms(client: httpx.AsyncClient) -> dict[str, set[str]]:
    """Feature type → the forms /tap/capabilities declares under it."""
    response = await client.get("/tap/capabilities")
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    declared: dict[str, set[str]] = {}
    for group in root.iter("languageFeatures"):
        declared.setdefault(group.get("type", ""), set()).update(f.findtext("form", "") for f in group.iter("feature"))
    assert declared, "no languageFeatures in the capabilities"
    return declared


def _function_name(form: str) -> str:
    match = re.match(r"\w+", form)
    assert match, form
    return match[0].upper()


async def test_every_optional_function_is_declared_under_its_feature(client: httpx.AsyncClient) -> None:
    declared = await _declared_forms(client)
    for function in ALL_FUNCTIONS:
        names = {_function_name(form) for form in declared.get(function.feature or "", set())}
        if function.feature is None:
            assert function.name in ADQL_MANDATORY_FUNCTIONS, f"{function.name} is translatable but not declared"
            assert all(function.name not in {_function_name(f) for f in forms} for forms in declared.values())
        else:
            assert function.name in names, f"{function.name} is translatable but not declared"


async def test_every_declared_function_is_translatable(client: httpx.AsyncClient, adql_tap_schema: TapSchema) -> None:
    syntax = {form for _, form, _ in SYNTAX_FEATURES}
    forms = {form for group in (await _declared_forms(client)).values() for form in group}
    functions = {_function_name(form) for form in forms if form not in syntax}
    assert functions
    for name in functions:
        with pytest.raises(AdqlError) as info:  # no arguments: wrong for each of them, but known
            translate(f"SELECT {name}() FROM {_TABLE}", adql_tap_schema)
        assert "unknown function" not in info.value.message, f"{name} is declared but not translatable"
    assert {f.name for f in ALL_FUNCTIONS} - ADQL_MANDATORY_FUNCTIONS == functions


@pytest.mark.parametrize("function", ALL_FUNCTIONS, ids=lambda f: f.name)
def test_argument_counts_come_from_the_signatures(function: Any, adql_tap_schema: TapSchema) -> None:
    counts = {len(sig.params) for sig in function.signatures}
    for count in counts:
        args = ", ".join(["NULL"] * count)
        try:
            translate(f"SELECT {function.name}({args}) FROM {_TABLE}", adql_tap_schema)
        except AdqlError as exc:  # NULL may be the wrong type, but the count is right
            assert "argument" not in exc.message or "takes" not in exc.message, exc.message
    wrong = max(counts) + 1 if not any(sig.repeat for sig in function.signatures) else None
    if wrong is not None and not any(sig.accepts(wrong) for sig in function.signatures):
        with pytest.raises(AdqlError, match=f"{function.name} takes .* not {wrong}"):
            translate(f"SELECT {function.name}({', '.join(['1'] * wrong)}) FROM {_TABLE}", adql_tap_schema)


def test_standard_function_names_are_reserved_udf_names_are_not() -> None:
    for function in ALL_FUNCTIONS:
        assert (function.name in RESERVED_WORDS) != function.udf, function.name
    assert SQL92_RESERVED_WORDS <= RESERVED_WORDS
    assert set(FUNCTION_BY_NAME) == {f.name for f in ALL_FUNCTIONS}  # no name twice


@pytest.mark.parametrize("word", sorted(w for w in RESERVED_WORDS if w.replace("_", "").isalnum()))
def test_the_ingester_quotes_exactly_what_the_parser_reserves(word: str, adql_tap_schema: TapSchema) -> None:
    (bare,) = assign_column_names([word.lower()])
    assert bare.adql == f'"{word.lower()}"'
    with pytest.raises(AdqlError) as info:  # refused as a word (reserved, or a keyword of the grammar)
        translate(f"SELECT t.{word.lower()} FROM {_TABLE} AS t", adql_tap_schema)
    assert "has no column" not in info.value.message
    with pytest.raises(AdqlError, match="has no column"):  # quoted, it is a name like any other
        translate(f"SELECT t.{bare.adql} FROM {_TABLE} AS t", adql_tap_schema)


@pytest.mark.parametrize("name", ["bit_and", "ivo_hasword", "mag", "raj2000"])
def test_unreserved_names_stay_bare(name: str) -> None:
    (column,) = assign_column_names([name])
    assert column.adql == name


_VOTABLE = """<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
 <RESOURCE><TABLE name="words">
  <FIELD name="id" datatype="int"/><FIELD name="bigint" datatype="long"/><FIELD name="point" datatype="double"/>
  <DATA><TABLEDATA>
   <TR><TD>1</TD><TD>9000000000</TD><TD>1.5</TD></TR>
   <TR><TD>2</TD><TD>-3</TD><TD>2.5</TD></TR>
  </TABLEDATA></DATA>
 </TABLE></RESOURCE>
</VOTABLE>
"""


@pytest.fixture(scope="module")
def reserved_columns_table(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A table ingested from a VOTable whose columns are named ``bigint`` and ``point``."""
    path: Path = tmp_path_factory.mktemp("reserved") / "words.vot"
    path.write_text(_VOTABLE)
    with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS adqlwords CASCADE")
        conn.execute("DELETE FROM tap_schema.tables WHERE schema_name = 'adqlwords'")
        ingest_files(conn, [path], "adqlwords.words", query_role=settings.query_role)
    return "adqlwords.words"


async def _sync(client: httpx.AsyncClient, query: str) -> httpx.Response:
    return await client.post("/tap/sync", data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query,
                                                "RESPONSEFORMAT": "csv"})


async def test_an_ingested_bigint_column_is_published_quoted_and_queryable(reserved_columns_table: str,
                                                                          client: httpx.AsyncClient) -> None:
    published = await _sync(client, "SELECT column_name FROM TAP_SCHEMA.columns"
                                    f" WHERE table_name = '{reserved_columns_table}' ORDER BY column_name")
    assert published.status_code == 200, published.text
    names = published.text.splitlines()[1:]
    assert set(names) == {'"""bigint"""', '"""point"""', "id"}  # CSV doubles the quotes of "bigint"
    quoted = [n[1:-1].replace('""', '"') for n in names if n != "id"]
    rows = await _sync(client, f"SELECT {', '.join(sorted(quoted))} FROM {reserved_columns_table} ORDER BY id")
    assert rows.status_code == 200, rows.text
    assert rows.text.splitlines()[1:] == ["9000000000,1.5", "-3,2.5"]
    refused = await _sync(client, f"SELECT bigint FROM {reserved_columns_table}")
    assert refused.status_code == 400 and "reserved word" in refused.text


_CALL = re.compile(r"([A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)?)\s*\(")


@pytest.mark.parametrize("function", [f for f in ALL_FUNCTIONS if f.feature], ids=lambda f: f.name)
def test_a_function_emits_only_the_sql_functions_it_declares(function: Any, adql_tap_schema: TapSchema) -> None:
    sample = SAMPLES[function.name if not function.udf else function.name.lower()]
    others = {f.name for f in ALL_FUNCTIONS} & set(re.findall(r"\w+", sample.upper())) - {function.name}
    allowed = set(function.emits).union(*(FUNCTION_BY_NAME[o].emits for o in others))
    base = SQL_FUNCTIONS - set().union(*(f.emits for f in ALL_FUNCTIONS))  # what the compiler itself writes
    sql = re.sub(r"'(?:[^']|'')*'", "''", translate(sample, adql_tap_schema).sql)
    called = {name for name in _CALL.findall(sql) if name not in SQL_WORDS}
    assert called <= allowed | base, called - allowed - base
