"""Test accounts: a user with a password, a token and groups, created directly in the test database.

``make_account`` (tests/conftest.py) is the fixture; these helpers turn an account into credentials
for httpx and pyvo.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
import requests
from pyvo.auth import AuthSession, securitymethods

from jmmctap.accounts import store
from jmmctap.accounts.passwords import hash_password
from jmmctap.accounts.tokens import hash_token, new_token, token_hint

__all__ = ["TOKEN_METHOD", "TestAccount", "create_account"]

TOKEN_METHOD = "ivo://ivoa.net/sso#OAuth"
"""The security method the capabilities declare for Bearer tokens (pyvo sessions are keyed by it)."""


@dataclass(frozen=True)
class TestAccount:
    """A user of the test database and its secrets in clear."""

    __test__ = False  # not a pytest test class

    name: str
    password: str
    token: str
    groups: frozenset[str] = field(default_factory=frozenset)

    @property
    def basic(self) -> tuple[str, str]:
        """``auth=`` for httpx/requests: Basic with the password."""
        return self.name, self.password

    @property
    def bearer(self) -> dict[str, str]:
        """``headers=`` for httpx/requests: Bearer with the token."""
        return {"Authorization": f"Bearer {self.token}"}

    def pyvo_session(self, method: str = "basic") -> AuthSession:
        """A pyvo ``AuthSession`` logging in with the password (``basic``) or the token (``token``)."""
        session = AuthSession()
        if method == "basic":
            session.credentials.set_password(self.name, self.password)
        else:
            with_token = requests.Session()
            with_token.headers.update(self.bearer)
            session.credentials.set(TOKEN_METHOD, with_token)
        return session

    @staticmethod
    def close(session: AuthSession) -> None:
        """Close the HTTP connections of every credential's session (else: ResourceWarning)."""
        for http in session.credentials.credentials.values():
            http.close()

    @staticmethod
    def requests_session(session: AuthSession, method: str = "basic") -> requests.Session:
        """The requests session pyvo uses for ``method`` (to hook its responses)."""
        key = securitymethods.BASIC if method == "basic" else TOKEN_METHOD
        found: requests.Session = session.credentials.get(key)
        return found


def create_account(conn: psycopg.Connection[Any], name: str | None = None, *, groups: Iterable[str] = (),
                   expires_at: datetime | None = None) -> TestAccount:
    """Create a user with a random password and one token (expiring at ``expires_at``, default never)."""
    name = name or f"user-{secrets.token_hex(4)}@test.jmmc.fr"
    password = secrets.token_urlsafe(12)
    token = new_token()
    store.add_user(conn, name, email=name, password_hash=hash_password(password), groups=groups)
    store.create_token(conn, name, hash_token(token), token_hint(token), expires_at)
    return TestAccount(name, password, token, frozenset(groups))
