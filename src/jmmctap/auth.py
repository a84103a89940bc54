"""Who asks: the ``Principal`` value that travels from the request to the query, job and upload layers.

Code below the endpoints never looks at the request or a global to learn who asks: it receives a
``Principal``. ``Authenticator`` is the seam: this base class answers ``ANONYMOUS`` to everyone; the
serving process uses ``jmmctap.accounts.authenticator.AccountAuthenticator``, which checks the
request's credentials against the accounts (issue 15).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

__all__ = ["ANONYMOUS", "PRINCIPAL_SCOPE_KEY", "Authenticator", "Principal"]

PRINCIPAL_SCOPE_KEY = "jmmctap.principal"
"""ASGI scope key of the request's ``Principal`` once authenticated (read by the access log)."""


@dataclass(frozen=True)
class Principal:
    """A caller: a user name (None when anonymous) and the groups it belongs to."""

    name: str | None
    groups: frozenset[str] = frozenset()

    @property
    def anonymous(self) -> bool:
        """True for a caller who gave no identity."""
        return self.name is None

    def __str__(self) -> str:
        """The name as it appears in logs (``anonymous`` for none)."""
        return self.name if self.name is not None else "anonymous"


ANONYMOUS = Principal(None)
"""The caller without an identity (a request without credentials)."""


class Authenticator:
    """Decides who the caller of a request is; one per process (``ProcessContext.auth``).

    This base answers ``ANONYMOUS`` whatever the request says (a process without accounts).
    """

    async def principal_of(self, request: HTTPConnection) -> Principal:
        """The caller of ``request``.

        Raises
        ------
        jmmctap.errors.AuthenticationError
            Credentials were given but are not valid (subclasses that read credentials).
        """
        return ANONYMOUS

    async def aclose(self) -> None:
        """Release what the authenticator holds (connections to an account service)."""
