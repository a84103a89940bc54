"""Run the application under uvicorn on a socket we bind ourselves (so "port in use" is one clean error)."""

from __future__ import annotations

import logging
import socket

import uvicorn

from jmmctap import __version__
from jmmctap.app import create_app
from jmmctap.db.migrate import init_database
from jmmctap.errors import ConfigError
from jmmctap.settings import Settings

__all__ = ["bind_socket", "serve"]

log = logging.getLogger("jmmctap")


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen on ``host:port``; raise ``ConfigError`` when that is impossible."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigError(f"cannot resolve host {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    # proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only then, and without
    # it every keep-alive response waited for the client's delayed ACK (40 ms per request).
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(settings: Settings) -> None:
    """Start the embedded database when needed, bring its schema up to date, and serve HTTP."""
    sock = bind_socket(settings.host, settings.port)
    init_database(settings)  # starts the embedded cluster when needed, then applies pending migrations
    display_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    log.info("jmmctap serving http://%s:%d/tap", display_host, settings.port)
    config = uvicorn.Config(
        # log_config=None: uvicorn's records go through jmmctap's handler (logs.configure_logging);
        # access_log=False: accesslog.py writes the access lines, with bytes and duration
        create_app(settings), log_config=None, access_log=False, lifespan="on",
        timeout_graceful_shutdown=5, server_header=False,
        headers=[("server", f"jmmctap/{__version__}")],  # taplint W-CAP-SVR0 wants a software id
    )
    uvicorn.Server(config).run(sockets=[sock])
