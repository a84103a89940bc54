"""XML 1.0 escaping for text and attribute values, safe for any database string.

XML 1.0 forbids most C0 control characters even as character references, so they are replaced by
U+FFFD; CR is written as ``&#13;`` because parsers would otherwise turn it into LF. Documents are
encoded as ASCII with character references (``&#233;``), so they need no ``charset`` parameter.
"""

from __future__ import annotations

import re

__all__ = ["escape_attribute", "escape_text", "needs_escape", "to_ascii"]

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SPECIAL_TEXT = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}
)


def needs_escape(text: str) -> bool:
    """Whether ``text`` holds a character that :func:`escape_text` changes."""
    return _SPECIAL_TEXT.search(text) is not None


def escape_text(text: str) -> str:
    """``text`` as XML character data."""
    return _ILLEGAL.sub("\ufffd", text).translate(_TEXT)


def escape_attribute(text: str) -> str:
    """``text`` as a double-quoted XML attribute value (line breaks and tabs survive normalisation)."""
    return _ILLEGAL.sub("\ufffd", text).translate(_ATTRIBUTE)


def to_ascii(text: str) -> bytes:
    """Encode XML text as ASCII, non-ASCII characters as character references."""
    return text.encode("ascii", "xmlcharrefreplace")
