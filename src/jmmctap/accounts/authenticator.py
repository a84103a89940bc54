"""Who a request comes from: its ``Authorization`` header checked against the accounts, once per request.

Accepted: ``Basic user:password``, ``Basic user:token`` (a token as the password; the user part may be
empty), ``Bearer token``. A user with a local password is checked against its argon2 hash; a user
without one (or unknown here) against JMMC's account service when ``JMMCTAP_ACCOUNT_SERVICE`` is set.
No header: ``ANONYMOUS``. Wrong credentials: ``AuthenticationError`` (401), logged as ``login_failed``
and counted against the client address (``throttle.py``: 429 when it has failed too often).

The principal is kept in the ASGI scope, so the middleware, the endpoint and the access log of one
request share one check.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.requests import HTTPConnection

from jmmctap.accounts.cache import CheckCache
from jmmctap.accounts.credentials import CHALLENGES, BasicCredentials, Credentials, parse_authorization
from jmmctap.accounts.external import AccountService
from jmmctap.accounts.passwords import PasswordChecker
from jmmctap.accounts.store import AccountStore
from jmmctap.accounts.throttle import LoginThrottle
from jmmctap.accounts.tokens import hash_token, looks_like_token
from jmmctap.auth import ANONYMOUS, PRINCIPAL_SCOPE_KEY, Authenticator, Principal
from jmmctap.errors import AuthenticationError, TooManyRequestsError
from jmmctap.logs import log_event
from jmmctap.settings import Settings

__all__ = ["AccountAuthenticator"]

log = logging.getLogger("jmmctap.auth")


class AccountAuthenticator(Authenticator):
    """The authenticator of a serving process: accounts in the database, optionally JMMC's account service."""

    def __init__(self, store: AccountStore, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._passwords = PasswordChecker(CheckCache(settings.auth_cache_s, clock=clock))
        self._service = (
            AccountService(settings.account_service, CheckCache(settings.auth_cache_s, clock=clock))
            if settings.account_service else None
        )
        self._throttle = LoginThrottle(settings.login_failures_burst, settings.login_failure_refill_s, clock=clock)

    async def principal_of(self, request: HTTPConnection) -> Principal:
        """The caller of ``request``: ``ANONYMOUS`` without credentials, else the user they prove.

        Raises
        ------
        jmmctap.errors.AuthenticationError
            Credentials that are malformed or wrong, an expired or revoked token, a disabled account.
        jmmctap.errors.TooManyRequestsError
            The client address failed to log in too often; ``Retry-After`` says when to try again.
        jmmctap.errors.ServiceUnavailableError
            The account service is configured and did not answer.
        """
        known = request.scope.get(PRINCIPAL_SCOPE_KEY)
        if isinstance(known, Principal):
            return known
        address = request.client.host if request.client is not None else "unknown"
        claimed: str | None = None
        try:
            credentials = parse_authorization(request.headers.get("authorization"))
            if credentials is None:
                principal = ANONYMOUS
            else:
                claimed = credentials.user if isinstance(credentials, BasicCredentials) else None
                self._refuse_if_throttled(address, claimed)
                principal = await self._check(credentials)
        except AuthenticationError as exc:
            self._throttle.record_failure(address)
            log_event(log, "login_failed", {"client": address, "user": claimed, "reason": exc.message},
                      level=logging.WARNING)
            raise
        request.scope[PRINCIPAL_SCOPE_KEY] = principal
        return principal

    async def aclose(self) -> None:
        """Close the account service client, if any."""
        if self._service is not None:
            await self._service.aclose()

    def _refuse_if_throttled(self, address: str, claimed: str | None) -> None:
        wait_s = self._throttle.retry_after_s(address)
        if wait_s is not None:
            log_event(log, "login_throttled", {"client": address, "user": claimed, "retry_after_s": wait_s},
                      level=logging.WARNING)
            raise TooManyRequestsError(f"too many failed logins from {address}; try again in {wait_s} s", wait_s)

    async def _check(self, credentials: Credentials) -> Principal:
        if not isinstance(credentials, BasicCredentials):
            return await self._token_principal(credentials.token)
        if looks_like_token(credentials.secret):
            principal = await self._token_principal(credentials.secret)
            if credentials.user not in ("", principal.name):
                raise _refusal("this token belongs to another user")
            return principal
        return await self._password_principal(credentials.user, credentials.secret)

    async def _token_principal(self, token: str) -> Principal:
        owner = await self._store.find_token(hash_token(token)) if looks_like_token(token) else None
        if owner is None:
            raise _refusal("unknown token", bearer_error=True)
        if owner.revoked or owner.expired:
            raise _refusal(f"this token has {'been revoked' if owner.revoked else 'expired'}", bearer_error=True)
        if owner.disabled:
            raise _refusal("this account is disabled")
        return Principal(owner.user, owner.groups)

    async def _password_principal(self, user: str, password: str) -> Principal:
        record = await self._store.find_user(user) if user else None
        if record is not None and record.password_hash is not None:
            accepted = await self._passwords.verify(record.password_hash, password)
        elif self._service is not None and user:
            accepted = await self._service.check_password(user, password)
        else:
            accepted = await self._passwords.verify(None, password)  # as slow as a wrong password
        if not accepted:
            raise _refusal("wrong user name or password")
        if record is not None and record.disabled:
            raise _refusal("this account is disabled")
        return Principal(user, record.groups if record is not None else frozenset())


def _refusal(message: str, *, bearer_error: bool = False) -> AuthenticationError:
    # RFC 6750 §3.1: a bad bearer token is answered with error="invalid_token"
    challenge = CHALLENGES + (', error="invalid_token"' if bearer_error else "")
    return AuthenticationError(message, challenge)
