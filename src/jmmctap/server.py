"""Run the application under uvicorn on a socket we bind ourselves (so "port in use" is one clean error).

Connection limits: uvicorn bounds the size of a request head (h11, 16 KiB) and the idle time between
keep-alive requests (``timeout_keep_alive``), but not the time a client takes to send its head: a client
that never finishes its headers held a connection forever. ``HeaderTimeoutProtocol`` closes such a
connection ``HEADER_TIMEOUT_S`` after it opened (or after the first byte of a keep-alive request).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import socket
from types import FrameType
from typing import Any

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from jmmctap import __version__
from jmmctap.app import create_app
from jmmctap.db.migrate import init_database
from jmmctap.errors import ConfigError
from jmmctap.health import Readiness
from jmmctap.settings import Settings

__all__ = [
    "HEADER_TIMEOUT_S", "KEEP_ALIVE_TIMEOUT_S", "MAX_HEAD_BYTES", "DrainingServer", "HeaderTimeoutProtocol",
    "bind_socket", "serve", "uvicorn_config",
]

log = logging.getLogger("jmmctap")

HEADER_TIMEOUT_S = 10.0
"""Longest time a client may take to send a complete request head."""

KEEP_ALIVE_TIMEOUT_S = 5
"""Longest idle time of a keep-alive connection between two requests (uvicorn's default)."""

MAX_HEAD_BYTES = 16 * 1024
"""Largest request line plus headers (h11's default, said explicitly): larger heads get 400."""


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request head is not complete in time."""

    header_timeout_s = HEADER_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:  # a head has begun but is not complete
            self._arm()
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout_s, self._expire)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _expire(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def uvicorn_config(app: ASGIApp, header_timeout_s: float = HEADER_TIMEOUT_S, grace_s: float = 5) -> uvicorn.Config:
    """uvicorn's configuration for ``app``: the limits of the module docstring, our server header.

    ``grace_s``: after SIGTERM, how long responses in flight may take to finish (``JMMCTAP_SHUTDOWN_GRACE_S``).
    """
    protocol = type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout_s": header_timeout_s})
    return uvicorn.Config(
        # log_config=None: uvicorn's records go through jmmctap's handler (logs.configure_logging);
        # access_log=False: accesslog.py writes the access lines, with bytes and duration
        app, http=protocol, log_config=None, access_log=False, lifespan="on",
        timeout_graceful_shutdown=math.ceil(grace_s),
        timeout_keep_alive=KEEP_ALIVE_TIMEOUT_S, h11_max_incomplete_event_size=MAX_HEAD_BYTES, server_header=False,
        headers=[("server", f"jmmctap/{__version__}")],  # taplint W-CAP-SVR0 wants a software id
    )


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


class DrainingServer(uvicorn.Server):
    """uvicorn's server, reporting the process not ready (``Readiness.drain``) as soon as it is told to stop.

    On SIGTERM uvicorn stops accepting, closes idle keep-alive connections, lets responses in flight
    finish (at most ``timeout_graceful_shutdown`` seconds), then runs the lifespan's shutdown, where the
    job workers hand their running jobs back to the queue (``uws/worker.py``).
    """

    def __init__(self, config: uvicorn.Config, readiness: Readiness) -> None:
        super().__init__(config)
        self.readiness = readiness

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start as uvicorn does, then move what startup built out of the collector's sight.

        The process context, TAP_SCHEMA, the imported modules (astropy, numpy…) live as long as the
        process, yet every full collection walks them all: one paused a served crossmatch for 63 ms
        (1,000 queries after startup; 70–90 ms with more objects). Frozen after one collection, they are
        never scanned again (only what is made later is), and startup's garbage is gone first.
        """
        await super().startup(sockets=sockets)
        gc.collect()
        gc.freeze()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.readiness.draining:
            log.info("jmmctap draining: no new connections, requests in flight may take %s s",
                     self.config.timeout_graceful_shutdown)
        self.readiness.drain()
        super().handle_exit(sig, frame)


def serve(settings: Settings) -> None:
    """Start the embedded database when needed, bring its schema up to date, and serve HTTP until SIGTERM."""
    sock = bind_socket(settings.host, settings.port)
    init_database(settings)  # starts the embedded cluster when needed, then applies pending migrations
    display_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    log.info("jmmctap serving http://%s:%d/tap", display_host, settings.port)
    readiness = Readiness()
    config = uvicorn_config(create_app(settings, readiness), grace_s=settings.shutdown_grace_s)
    DrainingServer(config, readiness).run(sockets=[sock])
