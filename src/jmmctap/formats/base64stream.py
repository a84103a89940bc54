"""Base64 of a byte stream written in pieces: each piece is encoded up to a multiple of 3 bytes.

The remainder (0–2 bytes) is carried to the next piece, so the concatenated text is one valid base64
stream without inner padding (VOTable 1.4 §5.6 ``STREAM encoding="base64"``). Each piece ends with a
line break, which base64 readers skip.
"""

from __future__ import annotations

import binascii

__all__ = ["Base64Stream"]


class Base64Stream:
    """Incremental base64 encoder."""

    def __init__(self) -> None:
        self._carry = b""

    def encode(self, data: bytes) -> bytes:
        """Base64 of the carried bytes plus ``data`` up to a multiple of 3 bytes."""
        if self._carry:
            data = self._carry + data
        cut = len(data) - len(data) % 3
        self._carry = data[cut:]
        return binascii.b2a_base64(data[:cut], newline=True) if cut else b""

    def finish(self) -> bytes:
        """Base64 of the carried bytes, padded."""
        carry, self._carry = self._carry, b""
        return binascii.b2a_base64(carry, newline=True) if carry else b""
