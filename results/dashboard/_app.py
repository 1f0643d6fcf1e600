"""The Starlette app: read-only routes over one store, a token check, strict security headers."""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from .._errors import StoreError, SweepNotFoundError
from .._plots import inline_svg
from .._report_data import collector_paused, gather
from .._store import Store
from ._assets import SCRIPT
from ._lazy import ORDER, draw, lazy, plot_kinds, slot_prefix
from ._model import compare_series, sweep_list, sweep_payload
from ._pages import compare_page, index_page, not_found_page, plot_page, sweep_main, sweep_page, trial_page_html
from ._snapshot import MIN_REBUILD_S, Cache, Fingerprints
from ._trial import find_trial, trial_main, trial_payload, trial_plot

__all__ = ["MAX_COMPARE", "create_app"]

logger = logging.getLogger(__name__)

MAX_COMPARE = 8  # sweeps on one compare page
COOKIE = "hpo_token"
_PLOT_LOCK = threading.Lock()  # matplotlib's rc_context is process-global: one render at a time

_HEADERS = {
    # Only our own script; inline style attributes are what matplotlib's SVG uses.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; "
                               "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # a ?token= must not leak to other sites
    "X-Frame-Options": "DENY",
}


class _Guard(BaseHTTPMiddleware):
    """Read-only methods only; the token (header, ``?token=`` or cookie) when one is set."""

    def __init__(self, app: Any, *, token: str | None) -> None:
        super().__init__(app)
        self._token = token

    def _given(self, request: Request) -> tuple[str | None, bool]:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip(), False
        if "x-hpo-token" in request.headers:
            return request.headers["x-hpo-token"], False
        if "token" in request.query_params:
            return request.query_params["token"], True
        return request.cookies.get(COOKIE), False

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.method not in ("GET", "HEAD"):
            response: Response = Response("read-only: only GET and HEAD\n", status_code=405,
                                          headers={"Allow": "GET, HEAD"}, media_type="text/plain")
        else:
            given, from_query = self._given(request) if self._token else (None, False)
            if self._token and not (given and hmac.compare_digest(given.encode(), self._token.encode())):
                response = Response("a token is needed: ?token=T, or the header Authorization: Bearer T\n",
                                    status_code=401, media_type="text/plain",
                                    headers={"WWW-Authenticate": "Bearer"})
            else:
                response = await call_next(request)
                if from_query:  # later links and the live script carry it without ?token=
                    response.set_cookie(COOKIE, given or "", httponly=True, samesite="strict")
        for key, value in _HEADERS.items():
            response.headers.setdefault(key, value)
        return response


def _json(payload: Any, *, status: int = 200, etag: str | None = None) -> Response:
    headers = {"Cache-Control": "no-cache"}
    if etag:
        headers["ETag"] = f'"{etag}"'
    return Response(json.dumps(payload, default=str, allow_nan=False) + "\n", status_code=status,
                    media_type="application/json", headers=headers)


def _json_bytes(payload: Any) -> bytes:
    return (json.dumps(payload, default=str, allow_nan=False) + "\n").encode()


def _matches(request: Request, etag: str) -> bool:
    wanted = request.headers.get("if-none-match", "")
    return any(tag.strip().removeprefix("W/") == f'"{etag}"' for tag in wanted.split(","))


def _finite(value: Any) -> Any:
    """NaN and infinities as None, so the JSON stays standard."""
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


class _Lazy:
    """A value built on its first ``get`` (once, whichever thread asks first)."""

    def __init__(self, build: Callable[[], bytes]) -> None:
        self._build: Callable[[], bytes] | None = build
        self._value = b""
        self._lock = threading.Lock()

    def get(self) -> bytes:
        with self._lock:
            if self._build is not None:
                self._value, self._build = self._build(), None
            return self._value


def _warm_imports() -> None:
    """Import what the first sweep page draws with (matplotlib and its fonts, pandas, optuna: about a second)
    when the server starts, not inside its first request."""
    import pandas  # noqa: F401

    from .._importance import optuna_importance
    from .._plots import warm_up

    optuna_importance()
    with _PLOT_LOCK:
        warm_up()


def create_app(store: Store, *, token: str | None = None, min_rebuild_s: float = MIN_REBUILD_S) -> Starlette:
    """The dashboard over ``store`` (which the app reads and never writes).

    Args:
        store: The open results store.
        token: When set, every request must carry it.
        min_rebuild_s: A changing sweep's page is rebuilt at most this often.
    """
    _warm_imports()
    cache = Cache(min_rebuild_s=min_rebuild_s)
    fingerprint = Fingerprints(store, ttl_s=min(0.5, min_rebuild_s))

    def _sweep_view(name: str, later: list[Callable[[], None]] | None = None) -> tuple[str, dict[str, Any]]:
        """(fingerprint, the sweep's page and data); a big sweep's plots start drawing now, or (``later``
        given) once the response that gets ``later``'s task is sent."""
        def build(fp: str) -> dict[str, Any]:
            from .._plots import all_plots, hit_maps

            with collector_paused():
                data = gather(store, name)
                kinds = plot_kinds(data) if lazy(data) else []
                plots: dict[str, str] = {}
                if not kinds:
                    with _PLOT_LOCK, hit_maps():
                        plots = all_plots(data)
                generated = datetime.now(tz=UTC).isoformat(timespec="seconds")
                main = sweep_main(data, plots, generated, lazy=kinds)
            # A big sweep: its plots drawn once its page is cached, one by one (a request waits for its own).
            ahead = (threading.Thread(target=_draw_ahead, args=(name, fp, data, kinds), daemon=True,
                                      name=f"hpo-plots-{name}") if kinds else None)
            # Encoded once per change, not once per request: pages of 1,000 trials are megabytes. The JSON
            # (every trial's last result: 9 MB at 10,000 trials) waits for the first request that wants it.
            return {"json": _Lazy(lambda: _json_bytes(_finite(sweep_payload(data)))), "main": main.encode(),
                    "page": sweep_page(data, main, etag=f'"{fp}"').encode(), "data": data, "plots": plots,
                    "generated": generated, "lazy": kinds, "ahead": ahead}

        fp, view = cache.get(f"sweep:{name}", fingerprint(name), build)
        ahead = view.pop("ahead", None)  # atomic: the one request that finds it starts it
        if ahead is not None:
            if later is None:
                ahead.start()
            else:  # once this response is sent: drawing meanwhile would slow its sending
                later.append(ahead.start)
        return fp, view

    def _after(later: list[Callable[[], None]]) -> BackgroundTask | None:
        return BackgroundTask(later[0]) if later else None

    def _plot(name: str, fp: str, data: Any, kind: str, pair: tuple[str, str] | None = None) -> str | None:
        """One plot of a big sweep, drawn once per store change (and contour pair), like the page."""
        def build(_fp: str) -> str | None:
            with collector_paused(), _PLOT_LOCK:
                return draw(data, kind, pair=pair)

        key = f"plot:{name}:{kind}" + (f":{pair[0]}:{pair[1]}" if pair else "")
        return cache.get(key, fp, build)[1]

    def _draw_ahead(name: str, fp: str, data: Any, kinds: list[str]) -> None:
        """Draw a big sweep's plots in page order while its page travels; stop once the page is rebuilt."""
        try:
            for kind in kinds:
                if cache.fingerprint_of(f"sweep:{name}") != fp:
                    return
                _plot(name, fp, data, kind)
        except Exception:  # a request drawing the same plot will say what went wrong
            logger.exception("drawing the plots of sweep %r ahead of their requests failed", name)

    def _error_page(exc: StoreError) -> Response:
        if isinstance(exc, SweepNotFoundError):
            return HTMLResponse(not_found_page(str(exc), status=404), status_code=404)
        logger.warning("store read failed: %s", exc)
        return HTMLResponse(not_found_page(str(exc), status=503), status_code=503)

    def index(request: Request) -> Response:
        try:
            _, sweeps = cache.get("index", fingerprint(None), lambda _fp: sweep_list(store))
        except StoreError as exc:
            return _error_page(exc)
        return HTMLResponse(index_page(sweeps, store.url_masked))

    def api_sweeps(request: Request) -> Response:
        try:
            fp, sweeps = cache.get("index", fingerprint(None), lambda _fp: sweep_list(store))
        except StoreError as exc:
            return _json({"error": str(exc)}, status=503)
        if _matches(request, fp):
            return Response(status_code=304, headers={"ETag": f'"{fp}"'})
        return _json(_finite({"store": store.url_masked, "sweeps": sweeps}), etag=fp)

    def sweep(request: Request) -> Response:
        later: list[Callable[[], None]] = []
        response = _sweep(request, later)
        response.background = _after(later)
        return response

    def _sweep(request: Request, later: list[Callable[[], None]]) -> Response:
        name = request.path_params["name"]
        try:
            fp, view = _sweep_view(name, later)
        except StoreError as exc:
            return _error_page(exc)
        headers = {"ETag": f'"{fp}"', "Cache-Control": "no-cache"}
        pair = (request.query_params.get("cx"), request.query_params.get("cy"))
        if pair[0] and pair[1] and pair[0] != pair[1] and view["lazy"]:  # the contour's placeholder asks for it
            data = view["data"]
            main = sweep_main(data, {}, view["generated"], contour=(pair[0], pair[1]), lazy=view["lazy"])
            if request.query_params.get("fragment"):
                return HTMLResponse(main, headers=headers)
            query = f"&cx={quote(pair[0])}&cy={quote(pair[1])}"
            return HTMLResponse(sweep_page(data, main, etag=f'"{fp}"', query=query), headers=headers)
        if pair[0] and pair[1] and pair[0] != pair[1]:  # the contour over two params the URL chose
            from .._plots import contour_plot, hit_maps

            data = view["data"]

            def draw(_fp: str) -> str | None:
                with _PLOT_LOCK, hit_maps():
                    return contour_plot(data, (pair[0], pair[1]))

            # Drawn once per store change and pair, like the page itself, not once per request.
            _, chosen = cache.get(f"contour:{name}:{pair[0]}:{pair[1]}", fp, draw)
            if chosen is not None:
                main = sweep_main(data, {**view["plots"], "contour": chosen}, view["generated"],
                                  contour=(pair[0], pair[1]))
                if request.query_params.get("fragment"):
                    return HTMLResponse(main, headers=headers)
                query = f"&cx={quote(pair[0])}&cy={quote(pair[1])}"
                return HTMLResponse(sweep_page(data, main, etag=f'"{fp}"', query=query), headers=headers)
        return HTMLResponse(view["main"] if request.query_params.get("fragment") else view["page"], headers=headers)

    def sweep_plot(request: Request) -> Response:
        """``/sweeps/NAME/plots/KIND``: one plot of a big sweep (``?fragment=1``: the bare SVG, for the script;
        204 when it has nothing to draw). A sweep drawn whole answers the same, from the plots on its page."""
        name, kind = request.path_params["name"], request.path_params["kind"]
        if kind not in ORDER:
            return HTMLResponse(not_found_page(f"no plot {kind!r}; plots: {', '.join(ORDER)}", status=404),
                                status_code=404)
        try:
            fp, view = _sweep_view(name)
        except StoreError as exc:
            return _error_page(exc)
        cx, cy = request.query_params.get("cx"), request.query_params.get("cy")
        pair = (cx, cy) if kind == "contour" and cx and cy and cx != cy else None
        data = view["data"]
        svg = view["plots"].get(kind) if not view["lazy"] and pair is None else _plot(name, fp, data, kind, pair)
        headers = {"ETag": f'"{fp}"', "Cache-Control": "no-cache"}
        if request.query_params.get("fragment"):
            if svg is None:
                return Response(status_code=204, headers=headers)
            return HTMLResponse(inline_svg(svg, slot_prefix(kind)), headers=headers)
        return HTMLResponse(plot_page(data, kind, svg, contour=pair), headers=headers)

    def api_sweep(request: Request) -> Response:
        name = request.path_params["name"]
        later: list[Callable[[], None]] = []
        try:
            fp, view = _sweep_view(name, later)
        except SweepNotFoundError as exc:
            return _json({"error": str(exc)}, status=404)
        except StoreError as exc:
            return _json({"error": str(exc)}, status=503)
        if _matches(request, fp):
            return Response(status_code=304, headers={"ETag": f'"{fp}"'}, background=_after(later))
        return Response(view["json"].get(), media_type="application/json",
                        headers={"ETag": f'"{fp}"', "Cache-Control": "no-cache"}, background=_after(later))

    def _trial(request: Request) -> tuple[dict[str, Any] | None, str]:
        name, trial_id = request.path_params["name"], request.path_params["trial_id"]
        data = _sweep_view(name)[1]["data"]
        trial = find_trial(data, trial_id)
        if trial is None:
            return None, f"no trial {trial_id!r} in sweep {name!r}"
        return _finite(trial_payload(store, data, trial)), ""

    def trial_page(request: Request) -> Response:
        try:
            payload, missing = _trial(request)
        except StoreError as exc:
            return _error_page(exc)
        if payload is None:
            return HTMLResponse(not_found_page(missing, status=404), status_code=404)
        with _PLOT_LOCK:
            svg = trial_plot(payload)
        return HTMLResponse(trial_page_html(payload, trial_main(payload, svg)))

    def api_trial(request: Request) -> Response:
        try:
            payload, missing = _trial(request)
        except SweepNotFoundError as exc:
            return _json({"error": str(exc)}, status=404)
        except StoreError as exc:
            return _json({"error": str(exc)}, status=503)
        if payload is None:
            return _json({"error": missing}, status=404)
        return _json(payload)

    def compare(request: Request) -> Response:
        names = [n.strip() for n in request.query_params.get("sweeps", "").split(",") if n.strip()]
        names += [n for n in request.query_params.getlist("pick") if n not in names]
        if not names:
            return HTMLResponse(not_found_page("name the sweeps to compare: /compare?sweeps=A,B", status=400),
                                status_code=400)
        if len(names) > MAX_COMPARE:
            return HTMLResponse(not_found_page(f"compare at most {MAX_COMPARE} sweeps, got {len(names)}",
                                               status=400), status_code=400)
        try:
            series = [compare_series(_sweep_view(name)[1]["data"]) for name in names]
        except StoreError as exc:
            return _error_page(exc)
        from ._compare import compare_plot

        with _PLOT_LOCK:
            svg = compare_plot(series)
        return HTMLResponse(compare_page(names, svg, series))

    def script(request: Request) -> Response:
        return Response(SCRIPT, media_type="text/javascript", headers={"Cache-Control": "max-age=300"})

    routes = [
        Route("/", index),
        Route("/sweeps/{name}", sweep),
        Route("/sweeps/{name}/plots/{kind}", sweep_plot),
        Route("/sweeps/{name}/trials/{trial_id:path}", trial_page),
        Route("/compare", compare),
        Route("/api/sweeps", api_sweeps),
        Route("/api/sweeps/{name}", api_sweep),
        Route("/api/sweeps/{name}/trials/{trial_id:path}", api_trial),
        Route("/static/dash.js", script),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_Guard, token=token)])
