"""The service's own root URL, for absolute links (UWS ``Location``, job documents, capabilities).

A URL built from the client's ``Host`` header would let any client make the service announce another host
(a redirect to a look-alike, a poisoned cache entry). So the root is ``JMMCTAP_PUBLIC_URL`` when set (the
way to run behind a proxy or under a DNS name), else the ``Host`` only when it names this server (one of its
own names or the address the connection reached, with the port it listens on), else that address itself:
always a URL that reaches this server.
"""

from __future__ import annotations

import functools
import socket
from urllib.parse import urlsplit

from starlette.requests import Request

from jmmctap.settings import Settings

__all__ = ["LOCAL_NAMES", "service_root"]

LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
"""Host names always taken as this machine, beside its host name and the address a connection reached."""


@functools.cache
def _own_names() -> frozenset[str]:
    names = {socket.gethostname(), socket.getfqdn()}
    return frozenset(name.lower() for name in names if name) | LOCAL_NAMES


def service_root(request: Request, settings: Settings) -> str:
    """The root URL (no trailing slash) to put in absolute links to this service."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    scheme = request.url.scheme
    server = request.scope.get("server")
    if server is None or str(server[0]).startswith("/"):  # a Unix socket: only a proxy reaches it, set the URL
        return str(request.base_url).rstrip("/")
    default = 443 if scheme == "https" else 80
    address, port = str(server[0]), default if server[1] is None else int(server[1])
    host = _host_naming_this_server(request.headers.get("host", ""), address, port, scheme)
    authority = host if host is not None else _authority(address, port, scheme)
    return f"{scheme}://{authority}{request.scope.get('root_path', '')}".rstrip("/")


def _host_naming_this_server(header: str, address: str, port: int, scheme: str) -> str | None:
    """The ``Host`` header when it names this server on its own port, else None."""
    try:
        parts = urlsplit(f"//{header.strip()}")
        name, given_port = parts.hostname, parts.port
    except ValueError:
        return None
    if not name or parts.username is not None or parts.password is not None or parts.path:
        return None
    default = 443 if scheme == "https" else 80
    if (given_port or default) != port or (name != address.lower() and name not in _own_names()):
        return None
    return _authority(name, port, scheme)


def _authority(host: str, port: int, scheme: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port == (443 if scheme == "https" else 80) else f"{shown}:{port}"
