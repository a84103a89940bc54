"""BINARY declares the magic NULL value of integer columns; BINARY2 declares nothing."""

from __future__ import annotations

from jmmctap.formats.binary import BINARY
from jmmctap.formats.binary2 import BINARY2
from jmmctap.results import ResultColumn


def test_integer_fields_declare_their_null_value() -> None:
    assert BINARY.field_content(ResultColumn("x", "short")) == '<VALUES null="-32768"/>'
    assert BINARY.field_content(ResultColumn("x", "unsignedByte")) == '<VALUES null="255"/>'
    assert BINARY.field_content(ResultColumn("x", "long", "2")) == '<VALUES null="-9223372036854775808"/>'
    assert BINARY.field_content(ResultColumn("x", "double")) == ""
    assert BINARY2.field_content(ResultColumn("x", "short")) == ""


def test_base64_runs_across_batches() -> None:
    import base64

    body = BINARY2.start([ResultColumn("x", "unsignedByte")])
    text = body.encode([(1,)]) + body.encode([(2,), (3,)]) + body.finish()
    assert base64.b64decode(text) == bytes([0, 1, 0, 2, 0, 3])
