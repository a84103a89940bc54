"""XML escaping: any string becomes well-formed XML 1.0 that parses back to the same text (illegal characters aside)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from jmmctap.formats.xmltext import escape_attribute, escape_text, needs_escape, to_ascii

LEGAL = st.characters(exclude_categories=["Cs"], exclude_characters="\ufffe\uffff\ufffd")


@given(st.text(LEGAL))
def test_text_and_attribute_round_trip(text: str) -> None:
    clean = "".join(c if c in "\t\n\r" or c >= " " else "\ufffd" for c in text)
    document = to_ascii(f'<a v="{escape_attribute(text)}">{escape_text(text)}</a>')
    element = etree.fromstring(document)
    assert element.get("v") == clean
    assert (element.text or "") == clean


def test_illegal_characters_become_replacement_characters() -> None:
    assert escape_text("a\x00b\x0bc\ud800d\uffff") == "a\ufffdb\ufffdc\ufffdd\ufffd"


def test_needs_escape() -> None:
    assert not needs_escape("plain text, even 'quotes' and \"double\" and é")
    assert all(needs_escape(s) for s in ["&", "<", ">", "\r", "\x01"])
