"""Password checks delegated to JMMC's account service (``JMMCTAP_ACCOUNT_SERVICE``), answers remembered briefly.

The service is the one JMMC's eXist applications use (JMMC-OpenDev/jmmc-resources
``content/jmmc-auth.xql: check-password``): a form POST of ``email``, ``password`` and
``action=checkPassword`` to its URL (``…/account/manage.php``), answered by an XML document that
contains a ``<true/>`` element when the password is right. Both answers are remembered for
``JMMCTAP_AUTH_CACHE_S`` so that a client sending Basic on every request costs one call a minute.
"""

from __future__ import annotations

import logging

import httpx
from lxml import etree

from jmmctap.accounts.cache import CheckCache, digest_of
from jmmctap.errors import ServiceUnavailableError

__all__ = ["AccountService"]

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0
"""Longest wait for the account service's answer."""

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
"""The answer comes from another host: no entities, no DTD, no network access while parsing."""


class AccountService:
    """Client of the account service at ``url``; one per process, closed with ``aclose``."""

    def __init__(self, url: str, cache: CheckCache[bool], *, timeout_s: float = TIMEOUT_S) -> None:
        self.url = url
        self._cache = cache
        self._http = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)

    async def check_password(self, login: str, password: str) -> bool:
        """True when the service accepts ``login``/``password``.

        Raises
        ------
        jmmctap.errors.ServiceUnavailableError
            The service did not answer, or not as expected (a client retries later; it is not a login failure).
        """
        key = digest_of(self.url, login, password)
        known = self._cache.get(key)
        if known is not None:
            return known
        try:
            response = await self._http.post(
                self.url, data={"email": login, "password": password, "action": "checkPassword"})
            response.raise_for_status()
            answer = _says_true(response.content)
        except (httpx.HTTPError, etree.XMLSyntaxError) as exc:
            log.error("account service %s: %s", self.url, exc)
            raise ServiceUnavailableError("the account service does not answer; try again later", 30) from None
        self._cache.put(key, answer)
        return answer

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()


def _says_true(document: bytes) -> bool:
    root = etree.fromstring(document, _PARSER)
    return any(isinstance(e.tag, str) and etree.QName(e).localname == "true" for e in root.iter())
