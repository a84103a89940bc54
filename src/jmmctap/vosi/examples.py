"""DALI examples (DALI 1.1 §2.3, TAP 1.1 §2.6): example queries kept as YAML, served as XHTML with RDFa.

Examples live in ``tap_schema/examples/*.yaml``::

    examples:
    - id: tap-schema-tables                    # becomes the element id and resource="#id"
      name: The published tables
      description: Optional paragraph of plain text.
      tables: [tap_schema.tables]              # every table the query reads
      query: |
        SELECT table_name, description FROM tap_schema.tables

Only examples whose tables are all published are served, so the document never advertises a
query that cannot run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from lxml import etree

from jmmctap.errors import ConfigError
from jmmctap.resources import resource_dir
from jmmctap.tapschema.model import TapSchema, split_qualified

__all__ = ["EXAMPLES_VOCAB", "XHTML_NS", "Example", "publishable_examples", "read_examples", "write_examples"]

EXAMPLES_VOCAB = "http://www.ivoa.net/rdf/examples#"
"""RDFa vocabulary of DALI examples."""
XHTML_NS = "http://www.w3.org/1999/xhtml"
"""Namespace of the examples document (XHTML)."""
_ID = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*\Z")


@dataclass(frozen=True)
class Example:
    """One DALI example: an XML id, a name, the ADQL query and the tables it reads."""

    id: str
    name: str
    query: str
    tables: tuple[str, ...]
    description: str | None = None


def read_examples(directory: Path | None = None) -> list[Example]:
    """Parse every ``*.yaml`` of the directory (default: the project's ``tap_schema/examples``).

    Raises
    ------
    ConfigError
        A file is not valid YAML, an example lacks a field, or an id is not a unique XML id.
    """
    directory = directory or resource_dir("tap_schema") / "examples"
    examples: list[Example] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            document = yaml.safe_load(path.read_text()) or {}
            examples.extend(_parse_example(item) for item in document.get("examples", []))
        except (yaml.YAMLError, KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ConfigError(f"{path}: invalid example: {exc}") from None
    seen: set[str] = set()
    for example in examples:
        if example.id in seen:
            raise ConfigError(f"{directory}: example id {example.id!r} is used twice")
        seen.add(example.id)
    return examples


def publishable_examples(examples: Iterable[Example], tap_schema: TapSchema) -> list[Example]:
    """The examples whose tables are all published in ``tap_schema`` (each name designating one table)."""
    return [e for e in examples if all(len(tap_schema.find_tables(split_qualified(t))) == 1 for t in e.tables)]


def write_examples(examples: Iterable[Example], title: str = "Example queries") -> bytes:
    """The DALI examples XHTML document: one ``typeof="example"`` element per example.

    Parameters
    ----------
    examples
        The examples to list, in order.
    title
        Page title and heading.
    """
    html = etree.Element(f"{{{XHTML_NS}}}html", nsmap={None: XHTML_NS})
    head = etree.SubElement(html, f"{{{XHTML_NS}}}head")
    etree.SubElement(head, f"{{{XHTML_NS}}}title").text = title
    body = etree.SubElement(html, f"{{{XHTML_NS}}}body")
    container = etree.SubElement(body, f"{{{XHTML_NS}}}div", vocab=EXAMPLES_VOCAB)
    etree.SubElement(container, f"{{{XHTML_NS}}}h1").text = title
    for example in examples:
        _add_example(container, example)
    return etree.tostring(  # type: ignore[no-any-return]
        html, xml_declaration=True, encoding="UTF-8", pretty_print=True, doctype="<!DOCTYPE html>"
    )


def _add_example(container: etree._Element, example: Example) -> None:
    element = etree.SubElement(
        container, f"{{{XHTML_NS}}}div", id=example.id, resource=f"#{example.id}", typeof="example"
    )
    etree.SubElement(element, f"{{{XHTML_NS}}}h2", property="name").text = example.name
    if example.description:
        etree.SubElement(element, f"{{{XHTML_NS}}}p").text = example.description
    # The query element holds plain text only: pyvo reads its .text
    etree.SubElement(element, f"{{{XHTML_NS}}}pre", property="query").text = example.query
    tables = etree.SubElement(element, f"{{{XHTML_NS}}}p")
    tables.text = "Tables: "
    for index, name in enumerate(example.tables):
        span = etree.SubElement(tables, f"{{{XHTML_NS}}}span", property="table")
        span.text = name
        if index < len(example.tables) - 1:
            span.tail = ", "


def _parse_example(item: dict[str, object]) -> Example:
    identifier = str(item["id"])
    if not _ID.match(identifier):
        raise ValueError(f"id {identifier!r} is not an XML id (letter, then letters, digits, _ . -)")
    tables = item["tables"]
    if not isinstance(tables, list) or not tables:
        raise ValueError(f"example {identifier!r}: 'tables' must be a non-empty list")
    description = item.get("description")
    return Example(
        id=identifier,
        name=" ".join(str(item["name"]).split()),
        query=str(item["query"]).strip(),
        tables=tuple(str(t) for t in tables),
        description=" ".join(str(description).split()) if description else None,
    )
