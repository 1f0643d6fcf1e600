"""Where the dashboard may listen: loopback freely, anything else only behind a token."""

from __future__ import annotations

import ipaddress
import socket

__all__ = ["ServeError", "check_bind", "is_loopback", "listen"]


class ServeError(ValueError):
    """Bad input to ``hpo serve`` (host, port, token, store); the message is one line."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(*, host: str, port: int, token: str | None) -> None:
    """Refuse a non-loopback bind without a token, an empty token, and ports out of range.

    Raises:
        ServeError: one line naming what is wrong and how to fix it.
    """
    if not 0 <= port <= 65535:
        raise ServeError(f"--port must be in 0..65535, got {port}")
    if token is not None and not token.strip():
        raise ServeError("--token must not be empty")
    if not is_loopback(host) and token is None:
        raise ServeError(f"--host {host} is not a loopback address: anyone who can reach it could read the "
                         "store; add --token T (or HPO_SERVE_TOKEN), or bind 127.0.0.1")


def listen(*, host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0 picks a free one).

    Raises:
        ServeError: the port is in use, or the address is not this machine's.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ServeError(f"--host {host}: cannot resolve it ({exc.strerror})") from exc
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == 98 or "in use" in str(exc).lower():
            raise ServeError(f"port {port} on {host} is in use; pick another with --port "
                             "(or --port 0 for any free one)") from exc
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.setblocking(False)
    return sock
