"""Who asks: the ``Principal`` value that travels from the request to the query, job and upload layers.

The service has no accounts yet, so every caller is ``ANONYMOUS``. Code below the endpoints never
looks at the request or a global to learn who asks: it receives a ``Principal``, so that adding
authentication only means filling it in ``Authenticator.principal_of``.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

__all__ = ["ANONYMOUS", "Authenticator", "Principal", "job_principal"]


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
"""The caller without an identity (every caller, until accounts exist)."""


def job_principal(owner_id: str | None) -> Principal:
    """The principal a job runs for: its recorded owner (groups are not stored with jobs)."""
    return ANONYMOUS if owner_id is None else Principal(owner_id)


class Authenticator:
    """Decides who the caller of a request is; one per process (``ProcessContext.auth``)."""

    async def principal_of(self, request: HTTPConnection) -> Principal:
        """The caller of ``request``; always ``ANONYMOUS`` until the service has accounts.

        Raises
        ------
        jmmctap.errors.AuthenticationError
            Credentials were given but are not valid (once credentials are read).
        """
        return ANONYMOUS
