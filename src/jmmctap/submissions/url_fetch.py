"""Fetch a file a submission names by URL, without letting the server be used to probe its own network.

Only ``http`` and ``https``; every address the host name resolves to must be a global one (no loopback,
private, link-local, multicast or reserved address) unless ``JMMCTAP_OIFITS_SUBMIT_PRIVATE_URLS`` allows it;
redirects are followed by hand (at most ``MAX_REDIRECTS``), each target checked the same way; the body is
written to ``target`` while it arrives and refused past ``max_bytes``; each network step has a timeout.
Known weakness: the name is resolved once for the check and again by the HTTP client, so a DNS server that
answers differently the second time (DNS rebinding) could still reach an internal address.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import anyio
import httpx

from jmmctap.errors import PayloadTooLargeError, UsageError

__all__ = ["MAX_REDIRECTS", "FetchLimits", "fetch_url", "safe_file_name"]

MAX_REDIRECTS = 3
"""Redirects followed before a URL is refused."""

_MAX_URL_CHARS = 2000


@dataclass(frozen=True)
class FetchLimits:
    """How much, how long, and whether non-global addresses may be fetched."""

    max_bytes: int
    timeout_s: float
    private_addresses: bool = False


async def fetch_url(url: str, directory: Path, limits: FetchLimits) -> Path:
    """Download ``url`` into ``directory`` under the last segment of its path; returns the file.

    Raises
    ------
    UsageError
        Not an http(s) URL, an address that may not be fetched, a failure or an HTTP error status.
    PayloadTooLargeError
        The file is larger than ``limits.max_bytes``.
    """
    if len(url) > _MAX_URL_CHARS:
        raise UsageError(f"the url is longer than {_MAX_URL_CHARS} characters")
    timeout = httpx.Timeout(limits.timeout_s)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            await _check_target(url, limits)
            try:
                async with client.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise UsageError(f"fetching {url} failed: HTTP {response.status_code}")
                    return await _save(response, directory / _file_name(url), limits.max_bytes)
            except httpx.HTTPError as exc:
                raise UsageError(f"fetching {url} failed: {exc.__class__.__name__} {exc}") from None
    raise UsageError(f"fetching the url took more than {MAX_REDIRECTS} redirects")


async def _check_target(url: str, limits: FetchLimits) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError("the url must be an http:// or https:// URL with a host")
    try:
        infos = await anyio.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                        type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UsageError(f"cannot resolve {parts.hostname}: {exc}") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not address.is_global and not limits.private_addresses:
            raise UsageError(f"the url's host {parts.hostname} is not a public address: refused")


async def _save(response: httpx.Response, target: Path, max_bytes: int) -> Path:
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLargeError(f"the file at the url is larger than the limit of {max_bytes} bytes")
    received = 0
    with target.open("wb") as out:
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            if received > max_bytes:
                raise PayloadTooLargeError(f"the file at the url is larger than the limit of {max_bytes} bytes")
            out.write(chunk)
    return target


def _file_name(url: str) -> str:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]).strip()
    return safe_file_name(name) or "submitted.fits"


def safe_file_name(name: str) -> str:
    """The base name of a client's file name, without path separators or control characters ('' if none)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if c.isprintable()).strip()
    return "" if cleaned in (".", "..") else cleaned[:200]
