"""Base64 across chunk boundaries: the concatenation is the base64 of the concatenated bytes."""

from __future__ import annotations

import base64
import os

import pytest

from jmmctap.formats.base64stream import Base64Stream


@pytest.mark.parametrize("sizes", [[1, 1, 1], [2, 2, 2, 2], [0, 5, 0, 7], [3, 3], [1], [], [1000, 1, 2, 999]])
def test_pieces_decode_to_the_whole(sizes: list[int]) -> None:
    pieces = [os.urandom(n) for n in sizes]
    stream = Base64Stream()
    text = b"".join(stream.encode(p) for p in pieces) + stream.finish()
    assert base64.b64decode(text) == b"".join(pieces)
    assert b"=" not in text.rstrip(b"\n=")  # padding only at the very end


def test_only_whole_triplets_are_written_before_the_end() -> None:
    stream = Base64Stream()
    assert stream.encode(b"ab") == b""
    assert stream.encode(b"cd") == b"YWJj\n"
    assert stream.finish() == b"ZA==\n"
    assert stream.finish() == b""
