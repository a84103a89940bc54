"""DALI examples: YAML declarations, filtering by published tables, XHTML+RDFa document."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import psycopg
import pytest
from lxml import etree

from jmmctap.errors import ConfigError
from jmmctap.tapschema import Schema, Table, TapSchema, load_tap_schema
from jmmctap.vosi import Example, publishable_examples, read_examples, write_examples
from jmmctap.vosi.examples import EXAMPLES_VOCAB, XHTML_NS

X = f"{{{XHTML_NS}}}"
ONE = Example("one-table", "One table", "SELECT a FROM cat.stars", ("cat.stars",), "First")
JOIN = Example("a-join", "A join", "SELECT * FROM cat.stars JOIN cat.obs USING (id)", ("cat.stars", "cat.obs"))
CATALOGUE = TapSchema(schemas=(Schema("cat"),), tables=(Table("cat", "cat.stars"),))


def _examples(root: etree._Element) -> list[etree._Element]:
    return cast("list[etree._Element]", root.findall(".//*[@typeof='example']"))


def test_document_is_well_formed_xhtml_with_one_examples_vocab() -> None:
    root = etree.fromstring(write_examples([ONE, JOIN]))
    assert root.tag == f"{X}html"
    assert [e.get("vocab") for e in root.iter() if e.get("vocab")] == [EXAMPLES_VOCAB]
    assert all(e.getparent().get("vocab") == EXAMPLES_VOCAB for e in _examples(root))


def test_each_example_has_id_resource_name_query_and_tables() -> None:
    root = etree.fromstring(write_examples([ONE, JOIN]))
    found = []
    for element in _examples(root):
        (name,) = element.findall(".//*[@property='name']")
        (query,) = element.findall(".//*[@property='query']")
        assert len(query) == 0  # plain text: pyvo takes the element's .text
        tables = [t.text for t in element.findall(".//*[@property='table']")]
        found.append((element.get("id"), element.get("resource"), name.text, query.text, tables))
    assert found == [
        ("one-table", "#one-table", "One table", ONE.query, ["cat.stars"]),
        ("a-join", "#a-join", "A join", JOIN.query, ["cat.stars", "cat.obs"]),
    ]


def test_queries_with_markup_characters_survive_escaping() -> None:
    tricky = Example("tricky", "Tricky", "SELECT a FROM cat.stars WHERE a < 3 AND b <> 'x&y'", ("cat.stars",))
    (query,) = etree.fromstring(write_examples([tricky])).findall(".//*[@property='query']")
    assert query.text == tricky.query


def test_only_examples_whose_tables_are_all_published_are_kept() -> None:
    assert publishable_examples([ONE, JOIN], CATALOGUE) == [ONE]


def test_table_names_resolve_like_adql_names() -> None:
    shouting = Example("upper", "Upper", "SELECT * FROM CAT.STARS", ("CAT.STARS",))
    assert publishable_examples([shouting], CATALOGUE) == [shouting]


def test_shipped_examples_are_unique_and_all_served_on_the_tap_schema(owner_conn: psycopg.Connection[Any]) -> None:
    shipped = read_examples()
    tap_schema_examples = [e for e in shipped if all(t.lower().startswith("tap_schema.") for t in e.tables)]
    assert len(tap_schema_examples) >= 3
    assert publishable_examples(tap_schema_examples, load_tap_schema(owner_conn)) == tap_schema_examples


def test_read_examples_parses_fields_and_folds_whitespace(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "examples:\n- id: x1\n  name: |\n    Two\n    lines\n  tables: [cat.stars]\n"
        "  description: d\n  query: |\n    SELECT a\n    FROM cat.stars\n"
    )
    assert read_examples(tmp_path) == [Example("x1", "Two lines", "SELECT a\nFROM cat.stars", ("cat.stars",), "d")]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("examples:\n- {id: x, name: n, tables: [t]}\n", "query"),
        ("examples:\n- {id: x, name: n, query: q}\n", "tables"),
        ("examples:\n- {id: x, name: n, query: q, tables: []}\n", "tables"),
        ("examples:\n- {id: '1x', name: n, query: q, tables: [t]}\n", "XML id"),
        ("examples: [[\n", "invalid example"),
        ("examples:\n- {id: x, name: n, query: q, tables: [t]}\n- {id: x, name: m, query: q, tables: [t]}\n",
         "used twice"),
    ],
)
def test_read_examples_rejects_bad_declarations(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(ConfigError, match=problem):
        read_examples(tmp_path)
