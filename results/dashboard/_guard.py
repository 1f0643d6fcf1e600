"""What every request passes before a route sees it, and what every answer carries.

- Read-only: GET and HEAD only (405 otherwise).
- The Host rule (DNS rebinding): without a token, only a Host naming this server is answered: a loopback
  name (``localhost``, ``127.0.0.1``, ``[::1]``), the name it was bound to, or a name allowed for a reverse
  proxy; with the port it listens on, when the Host carries one. A web page that rebinds its own name to
  127.0.0.1 sends its own name as Host, and gets 400.
- The token, when one is set: ``Authorization: Bearer T``, ``X-HPO-Token``, ``?token=T`` or the cookie. A page
  opened with ``?token=`` is sent on to the same URL without it (so the token leaves the address bar and
  history), with a cookie named after the port (``hpo_token_8080``: cookies ignore ports, so two dashboards
  on one machine keep theirs apart), ``HttpOnly``, ``SameSite=Strict``, ``Path=/``.
- Every answer, errors and 500s included, carries the security headers; behind a token also
  ``Cache-Control: no-store``.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

__all__ = ["LOOPBACK_NAMES", "SECURITY_HEADERS", "Guard", "allowed_names", "cookie_name", "host_allowed"]

logger = logging.getLogger(__name__)

LOOPBACK_NAMES = frozenset(("localhost", "127.0.0.1", "[::1]"))
SECURITY_HEADERS = {
    # Only our own script; inline style attributes are what matplotlib's SVG uses.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; "
                               "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # a ?token= must not leak to other sites
    "X-Frame-Options": "DENY",
}


def cookie_name(port: int | None) -> str:
    """The token cookie's name on ``port`` (``hpo_token_8080``)."""
    return f"hpo_token_{port}" if port else "hpo_token"


def _name(host: str) -> str:
    """A host name as the Host rule compares it: lower case, no trailing dot, IPv6 in brackets."""
    name = host.strip().lower().rstrip(".")
    return f"[{name}]" if ":" in name and not name.startswith("[") else name


def allowed_names(hosts: Iterable[str]) -> frozenset[str]:
    """The names a Host may carry: the loopback ones and ``hosts``, as ``host_allowed`` compares them."""
    return frozenset(_name(n) for n in (*LOOPBACK_NAMES, *hosts))


def host_allowed(host: str | None, *, names: frozenset[str], port: int | None) -> bool:
    """Whether a request's Host header names this server: one of ``names`` (from ``allowed_names``), with
    ``port`` when it carries a port."""
    if not host:
        return False
    name, port_text = host, ""
    if host.startswith("["):  # [::1]:8080
        end = host.find("]")
        name, port_text = host[:end + 1], host[end + 1:].removeprefix(":")
    elif host.count(":") == 1:
        name, port_text = host.split(":")
    if port_text and (not port_text.isdigit() or (port is not None and int(port_text) != port)):
        return False
    return _name(name) in names


def _plain(text: str, status: int, **headers: str) -> Response:
    return Response(text, status_code=status, media_type="text/plain", headers=headers)


class Guard(BaseHTTPMiddleware):
    """Read-only methods, the Host rule without a token, the token with one, headers on every answer."""

    def __init__(self, app: Any, *, token: str | None, hosts: Iterable[str] = ()) -> None:
        super().__init__(app)
        self._token = token
        self._names = allowed_names(hosts)

    def _given(self, request: Request) -> tuple[str | None, bool]:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip(), False
        if "x-hpo-token" in request.headers:
            return request.headers["x-hpo-token"], False
        if "token" in request.query_params:
            return request.query_params["token"], True
        return request.cookies.get(cookie_name(_port(request))), False

    def _valid(self, given: str | None) -> bool:
        return bool(given) and self._token is not None and hmac.compare_digest(
            (given or "").encode(), self._token.encode())

    async def _answer(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.method not in ("GET", "HEAD"):
            return _plain("read-only: only GET and HEAD\n", 405, Allow="GET, HEAD")
        if self._token is None:
            if not host_allowed(request.headers.get("host"), names=self._names, port=_port(request)):
                return _plain("hpo serve: this server answers only to its own name (a loopback name or --host); "
                              "for a reverse proxy add --allow-host NAME, or set a token\n", 400)
            return await call_next(request)
        given, from_query = self._given(request)
        if not self._valid(given):
            return _plain("a token is needed: ?token=T, or the header Authorization: Bearer T\n", 401,
                          **{"WWW-Authenticate": "Bearer"})
        if from_query and not request.url.path.startswith("/api/"):
            # A page opened with ?token=: on to the same URL without it, the cookie carrying the token.
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = request.url.path + ("?" + urlencode(rest) if rest else "")
            response: Response = RedirectResponse(target, status_code=303)
            response.set_cookie(cookie_name(_port(request)), given or "", httponly=True, samesite="strict",
                                path="/")
            return response
        return await call_next(request)

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        try:
            response = await self._answer(request, call_next)
        except Exception:  # an answer that failed still carries the headers, and says no more than this
            logger.exception("dashboard: %s %s failed", request.method, request.url.path)
            response = _plain("hpo serve: internal error (the server's log has the details)\n", 500)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if self._token is not None:
            response.headers["Cache-Control"] = "no-store"
        return response


def _port(request: Request) -> int | None:
    server = request.scope.get("server")
    return server[1] if server and len(server) > 1 else None
