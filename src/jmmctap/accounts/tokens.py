"""Personal API tokens: ``jmt_`` followed by 256 random bits; only their SHA-256 is stored.

A token has as much entropy as a key, so a fast hash is enough to store it (nothing to brute-force),
and a lookup by hash costs one index probe. The prefix makes a token recognisable in a Basic
password field and to secret scanners.
"""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["TOKEN_PREFIX", "hash_token", "looks_like_token", "new_token", "token_hint"]

TOKEN_PREFIX = "jmt_"
"""What every jmmctap token starts with."""

_TOKEN_BYTES = 32
"""Random bytes of a token (256 bits, 43 URL-safe base64 characters)."""

_HINT_CHARS = len(TOKEN_PREFIX) + 4
"""Characters of a token kept in clear to recognise it in listings (16 of its 256 bits)."""


def new_token() -> str:
    """A fresh random token (``secrets``: the operating system's CSPRNG)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)


def looks_like_token(text: str) -> bool:
    """True for a string shaped like one of our tokens (prefix and length), whether it exists or not."""
    return text.startswith(TOKEN_PREFIX) and len(text) >= len(TOKEN_PREFIX) + 40


def hash_token(token: str) -> bytes:
    """The 32-byte SHA-256 stored for ``token``."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def token_hint(token: str) -> str:
    """The beginning of ``token`` shown by ``jmmctap token list``."""
    return token[:_HINT_CHARS] + "…"
