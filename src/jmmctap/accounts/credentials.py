"""What a request's ``Authorization`` header claims: Basic user and secret (RFC 7617) or a Bearer token (RFC 6750).

Parsing only: whether the claim is true is the authenticator's business.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from jmmctap.errors import AuthenticationError

__all__ = [
    "CHALLENGES", "REALM", "SECURITY_METHODS", "BasicCredentials", "BearerCredentials", "Credentials",
    "parse_authorization",
]

REALM = "jmmc account"
"""The realm of JMMC's accounts: what its other services (OiDB, catalogAPI) already announce."""

CHALLENGES = f'Basic realm="{REALM}", Bearer realm="{REALM}"'
"""``WWW-Authenticate`` value of a 401 and of the capabilities: both schemes we accept (RFC 9110 §11.6.1)."""

SECURITY_METHODS = ("ivo://ivoa.net/sso#BasicAA", "ivo://ivoa.net/sso#OAuth")
"""What the capabilities declare besides anonymous access (IVOA SSO 2.0 §3 ``securityMethod`` ids).

``BasicAA`` is HTTP Basic (pyvo: ``AuthSession().credentials.set_password``). SSO 2.0 §"Details on
OAuth" registers ``Authorization: Bearer`` tokens as ``#OAuth``; OpenCADC's ``#token`` is not in SSO
2.0 (taplint W-CAP-CPSM), so a pyvo session holding a token is keyed by ``#OAuth``.
"""


@dataclass(frozen=True)
class BasicCredentials:
    """``user:secret`` of a Basic header; the secret is a password or one of the user's tokens."""

    user: str
    secret: str

    def __repr__(self) -> str:
        return f"BasicCredentials({self.user!r}, ***)"  # never in a log or traceback


@dataclass(frozen=True)
class BearerCredentials:
    """The token of a Bearer header."""

    token: str

    def __repr__(self) -> str:
        return "BearerCredentials(***)"


Credentials = BasicCredentials | BearerCredentials


def parse_authorization(header: str | None) -> Credentials | None:
    """The credentials of an ``Authorization`` header; None when there is none.

    Raises
    ------
    jmmctap.errors.AuthenticationError
        A header that is not well-formed Basic or Bearer: refused rather than ignored, so that a
        client that meant to log in learns that it did not.
    """
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return BearerCredentials(value)
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthenticationError("malformed Basic credentials", CHALLENGES) from None
        user, colon, secret = decoded.partition(":")
        if colon:
            return BasicCredentials(user, secret)
        raise AuthenticationError("malformed Basic credentials: no ':' between user and password", CHALLENGES)
    raise AuthenticationError(f"unsupported authorization scheme {scheme!r}: use Basic or Bearer", CHALLENGES)
