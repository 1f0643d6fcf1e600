"""The dashboard's answers: JSON and error responses, ETag matching, and the refusal of a request that names
something the store does not hold."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from hpo.results.dashboard._pages import not_found_page
from hpo.results.errors import SweepNotFoundError
from hpo.results.store.records import finite

__all__ = ["Refused", "error_json", "error_page", "json_bytes", "json_ready", "json_response", "matches", "shown",
           "status_of"]

logger = logging.getLogger(__name__)


class Refused(Exception):
    """A request naming something the store does not hold: answered 400 or 404 before anything is cached."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def shown(text: str, limit: int = 80) -> str:
    """A name from a URL as an error quotes it: made-up names can be tens of kilobytes."""
    return text if len(text) <= limit else text[:limit] + "…"


def status_of(exc: Exception) -> int:
    """The answer's status for a refused request or a failed store read."""
    return exc.status if isinstance(exc, Refused) else 404 if isinstance(exc, SweepNotFoundError) else 503


def json_ready(value: Any) -> Any:
    """``value`` with NaN and infinities as None (nested too), so the JSON stays standard."""
    if isinstance(value, float):
        return finite(value)
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    return value


def json_bytes(payload: Any) -> bytes:
    """The payload as the API serves it (one line of standard JSON)."""
    return (json.dumps(payload, default=str, allow_nan=False) + "\n").encode()


def json_response(payload: Any, *, status: int = 200, etag: str | None = None) -> Response:
    """A JSON answer, never cached without asking again."""
    headers = {"Cache-Control": "no-cache"}
    if etag:
        headers["ETag"] = f'"{etag}"'
    return Response(json_bytes(payload), status_code=status, media_type="application/json", headers=headers)


def matches(request: Request, etag: str) -> bool:
    """Whether the request's If-None-Match names ``etag`` (weak or strong)."""
    wanted = request.headers.get("if-none-match", "")
    return any(tag.strip().removeprefix("W/") == f'"{etag}"' for tag in wanted.split(","))


def error_page(exc: Exception) -> Response:
    """The error page of a refused request or a failed store read (the latter logged)."""
    status = status_of(exc)
    if status == 503:
        logger.warning("store read failed: %s", exc)
    return HTMLResponse(not_found_page(str(exc), status=status), status_code=status)


def error_json(exc: Exception) -> Response:
    """The API's answer to a refused request or a failed store read."""
    return json_response({"error": str(exc)}, status=status_of(exc))
