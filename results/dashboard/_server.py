"""The dashboard's HTTP server: uvicorn on h11, with a deadline for each request's head.

uvicorn times out idle keep-alive connections but not a client that sends its request line and headers a
byte at a time: each byte resets nothing and the connection stays open for as long as the client likes
(20 such sockets held a server for as long as they were kept up). Here a request's head must be complete
within ``HEADER_TIMEOUT_S`` of its first byte (or of the connection being made), else the connection closes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HEADER_TIMEOUT_S", "make_server"]

HEADER_TIMEOUT_S = 10.0  # a request's line and headers, from its first byte; browsers send them at once


class _HeadInTime(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head is not complete in time."""

    header_timeout_s = HEADER_TIMEOUT_S
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:  # a request's head still incomplete (or the next one's begun)
            if self._head_deadline is None and data:
                self._arm()
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._head_deadline = self.loop.call_later(self.header_timeout_s, self._expired)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _expired(self) -> None:
        self._head_deadline = None
        if self.conn.their_state is h11.IDLE:  # no whole request head yet: a response in progress is never cut
            self.transport.close()


def make_server(app: Any, *, header_timeout_s: float = HEADER_TIMEOUT_S) -> uvicorn.Server:
    """A uvicorn server for ``app`` (run it with ``server.run(sockets=[sock])``)."""
    protocol = type("HeadInTime", (_HeadInTime,), {"header_timeout_s": header_timeout_s})
    config = uvicorn.Config(app, http=protocol, log_level="warning", access_log=False, lifespan="off")
    return uvicorn.Server(config)
