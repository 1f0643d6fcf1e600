"""The Starlette app: read-only routes over one store, a token check, strict security headers."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from hpo.results.dashboard._assets import SCRIPT
from hpo.results.dashboard._guard import Guard
from hpo.results.dashboard._lazy import ORDER, draw, lazy, plot_kinds, slot_prefix
from hpo.results.dashboard._model import compare_series, sweep_list, sweep_payload
from hpo.results.dashboard._pages import (
    compare_page,
    index_page,
    not_found_page,
    plot_page,
    sweep_main,
    sweep_page,
    trial_page_html,
)
from hpo.results.dashboard._snapshot import MIN_REBUILD_S, Cache, Fingerprints, Names
from hpo.results.dashboard._trial import find_trial, trial_main, trial_payload, trial_plot
from hpo.results.errors import StoreError, SweepNotFoundError
from hpo.results.report.data import collector_paused, gather
from hpo.results.report.plots import inline_svg
from hpo.results.store.store import Store
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

__all__ = ["MAX_COMPARE", "MAX_NAME", "create_app"]

logger = logging.getLogger(__name__)

MAX_COMPARE = 8  # sweeps on one compare page
MAX_NAME = 255  # the store's longest sweep name (its column's width)
_PLOT_LOCK = threading.Lock()  # matplotlib's rc_context is process-global: one render at a time


class _Refused(Exception):
    """A request naming something the store does not hold: answered 400 or 404 before anything is cached."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _shown(text: str, limit: int = 80) -> str:
    """A name from a URL as an error quotes it: made-up names can be tens of kilobytes."""
    return text if len(text) <= limit else text[:limit] + "…"


def _status(exc: Exception) -> int:
    """The answer's status for a refused request or a failed store read."""
    return exc.status if isinstance(exc, _Refused) else 404 if isinstance(exc, SweepNotFoundError) else 503


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
    from hpo.results.analysis.importance import optuna_importance
    from hpo.results.report.plots import warm_up

    optuna_importance()
    with _PLOT_LOCK:
        warm_up()


def create_app(store: Store, *, token: str | None = None, hosts: Iterable[str] = (),
               min_rebuild_s: float = MIN_REBUILD_S) -> Starlette:
    """The dashboard over ``store`` (which the app reads and never writes).

    Args:
        store: The open results store.
        token: When set, every request must carry it.
        hosts: Names besides the loopback ones that a request's Host may carry when no token is set: the
            name the server was bound to, and a reverse proxy's.
        min_rebuild_s: A changing sweep's page is rebuilt at most this often.
    """
    _warm_imports()
    pages = Cache(min_rebuild_s=min_rebuild_s)  # the index and each sweep's view
    parts = Cache(min_rebuild_s=min_rebuild_s, size=512)  # plots, contours, trial pages, comparisons
    fingerprint = Fingerprints(store, ttl_s=min(0.5, min_rebuild_s))
    names = Names(store, ttl_s=min(0.5, min_rebuild_s))

    def _known(name: str) -> None:
        """Raise unless the store holds sweep ``name`` (the 404 names close ones, as the CLI does)."""
        if len(name) > MAX_NAME:
            raise _Refused(f"no sweep named {name[:40]!r}… (names are at most {MAX_NAME} characters)", 404)
        if name not in names:
            store.get_sweep(name)  # raises SweepNotFoundError with close names, unless it was just started

    def _sweep_view(name: str, later: list[Callable[[], None]] | None = None) -> tuple[str, dict[str, Any]]:
        """(fingerprint, the sweep's page and data); a big sweep's plots start drawing now, or (``later``
        given) once the response that gets ``later``'s task is sent."""
        _known(name)

        def build(fp: str) -> dict[str, Any]:
            from hpo.results.report.plots import all_plots, hit_maps

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
                                      name="hpo-plots") if kinds else None)
            # Encoded once per change, not once per request: pages of 1,000 trials are megabytes. The JSON
            # (every trial's last result: 9 MB at 10,000 trials) waits for the first request that wants it.
            return {"json": _Lazy(lambda: _json_bytes(_finite(sweep_payload(data)))), "main": main.encode(),
                    "page": sweep_page(data, main, etag=f'"{fp}"').encode(), "data": data, "plots": plots,
                    "generated": generated, "lazy": kinds, "ahead": ahead}

        fp, view = pages.get(f"sweep:{name}", fingerprint(name), build)
        ahead = view.pop("ahead", None)  # atomic: the one request that finds it starts it
        if ahead is not None:
            if later is None:
                ahead.start()
            else:  # once this response is sent: drawing meanwhile would slow its sending
                later.append(ahead.start)
        return fp, view

    def _after(later: list[Callable[[], None]]) -> BackgroundTask | None:
        return BackgroundTask(later[0]) if later else None

    def _pair(request: Request, data: Any) -> tuple[str, str] | None:
        """The contour's two params the URL chose (``?cx=&cy=``), checked against the sweep's own."""
        from hpo.results.report.plots import contour_axes

        cx, cy = request.query_params.get("cx"), request.query_params.get("cy")
        if not (cx and cy and cx != cy):
            return None
        keys = [a.key for a in contour_axes(data)]
        for chosen in (cx, cy):
            if chosen not in keys:
                raise _Refused(f"no numeric param {_shown(chosen)!r} to draw the contour over; this sweep's: "
                               f"{', '.join(keys) or 'none'}", 400)
        return cx, cy

    def _plot(name: str, fp: str, data: Any, kind: str, pair: tuple[str, str] | None = None) -> str | None:
        """One plot of a big sweep, drawn once per store change (and contour pair), like the page."""
        def build(_fp: str) -> str | None:
            with collector_paused(), _PLOT_LOCK:
                return draw(data, kind, pair=pair)

        key = f"plot:{name}:{kind}" + (f":{pair[0]}:{pair[1]}" if pair else "")
        return parts.get(key, fp, build)[1]

    def _draw_ahead(name: str, fp: str, data: Any, kinds: list[str]) -> None:
        """Draw a big sweep's plots in page order while its page travels; stop once the page is rebuilt."""
        try:
            for kind in kinds:
                if pages.fingerprint_of(f"sweep:{name}") != fp:
                    return
                _plot(name, fp, data, kind)
        except Exception:  # a request drawing the same plot will say what went wrong
            logger.exception("drawing the plots of sweep %r ahead of their requests failed", name)

    def _error_page(exc: Exception) -> Response:
        status = _status(exc)
        if status == 503:
            logger.warning("store read failed: %s", exc)
        return HTMLResponse(not_found_page(str(exc), status=status), status_code=status)

    def _error_json(exc: Exception) -> Response:
        return _json({"error": str(exc)}, status=_status(exc))

    def index(request: Request) -> Response:
        try:
            _, sweeps = pages.get("index", fingerprint(None), lambda _fp: sweep_list(store))
        except StoreError as exc:
            return _error_page(exc)
        return HTMLResponse(index_page(sweeps, store.url_masked))

    def api_sweeps(request: Request) -> Response:
        try:
            fp, sweeps = pages.get("index", fingerprint(None), lambda _fp: sweep_list(store))
        except StoreError as exc:
            return _json({"error": str(exc)}, status=503)
        if _matches(request, fp):
            return Response(status_code=304, headers={"ETag": f'"{fp}"'})
        return _json(_finite({"store": store.url_masked, "sweeps": sweeps}), etag=fp)

    def sweep(request: Request) -> Response:
        later: list[Callable[[], None]] = []
        try:
            response = _sweep(request, later)
        except (StoreError, _Refused) as exc:
            return _error_page(exc)
        response.background = _after(later)
        return response

    def _sweep(request: Request, later: list[Callable[[], None]]) -> Response:
        name = request.path_params["name"]
        fp, view = _sweep_view(name, later)
        data = view["data"]
        pair = _pair(request, data)
        headers = {"ETag": f'"{fp}"', "Cache-Control": "no-cache"}
        fragment = bool(request.query_params.get("fragment"))
        if pair is None:
            return HTMLResponse(view["main"] if fragment else view["page"], headers=headers)
        query = f"&cx={quote(pair[0])}&cy={quote(pair[1])}"
        if view["lazy"]:  # the contour's placeholder asks for it
            main = sweep_main(data, {}, view["generated"], contour=pair, lazy=view["lazy"])
        else:  # the contour over two params the URL chose, drawn once per store change and pair
            def build(_fp: str) -> str | None:
                from hpo.results.report.plots import contour_plot, hit_maps

                with _PLOT_LOCK, hit_maps():
                    return contour_plot(data, pair)

            chosen = parts.get(f"contour:{name}:{pair[0]}:{pair[1]}", fp, build)[1]
            if chosen is None:
                return HTMLResponse(view["main"] if fragment else view["page"], headers=headers)
            main = sweep_main(data, {**view["plots"], "contour": chosen}, view["generated"], contour=pair)
        if fragment:
            return HTMLResponse(main, headers=headers)
        return HTMLResponse(sweep_page(data, main, etag=f'"{fp}"', query=query), headers=headers)

    def sweep_plot(request: Request) -> Response:
        """``/sweeps/NAME/plots/KIND``: one plot of a big sweep (``?fragment=1``: the bare SVG, for the script;
        204 when it has nothing to draw). A sweep drawn whole answers the same, from the plots on its page."""
        name, kind = request.path_params["name"], request.path_params["kind"]
        if kind not in ORDER:
            return _error_page(_Refused(f"no plot {_shown(kind, 40)!r}; plots: {', '.join(ORDER)}", 404))
        try:
            fp, view = _sweep_view(name)
            data = view["data"]
            pair = _pair(request, data) if kind == "contour" else None
        except (StoreError, _Refused) as exc:
            return _error_page(exc)
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
        except (StoreError, _Refused) as exc:
            return _error_json(exc)
        if _matches(request, fp):
            return Response(status_code=304, headers={"ETag": f'"{fp}"'}, background=_after(later))
        return Response(view["json"].get(), media_type="application/json",
                        headers={"ETag": f'"{fp}"', "Cache-Control": "no-cache"}, background=_after(later))

    def _trial(request: Request) -> dict[str, Any]:
        """The trial's page and JSON, built once per store change (the trial checked first)."""
        name, trial_id = request.path_params["name"], request.path_params["trial_id"]
        fp, view = _sweep_view(name)
        data = view["data"]
        trial = find_trial(data, trial_id)
        if trial is None:
            raise _Refused(f"no trial {_shown(trial_id)!r} in sweep {name!r}", 404)

        def build(_fp: str) -> dict[str, Any]:
            payload = _finite(trial_payload(store, data, trial))
            with _PLOT_LOCK:
                svg = trial_plot(payload)
            return {"page": trial_page_html(payload, trial_main(payload, svg)).encode(), "json": _json_bytes(payload)}

        return parts.get(f"trial:{name}:{trial_id}", fp, build)[1]

    def trial_page(request: Request) -> Response:
        try:
            built = _trial(request)
        except (StoreError, _Refused) as exc:
            return _error_page(exc)
        return HTMLResponse(built["page"])

    def api_trial(request: Request) -> Response:
        try:
            built = _trial(request)
        except (StoreError, _Refused) as exc:
            return _error_json(exc)
        return Response(built["json"], media_type="application/json", headers={"Cache-Control": "no-cache"})

    def compare(request: Request) -> Response:
        wanted = [n.strip() for n in request.query_params.get("sweeps", "").split(",") if n.strip()]
        wanted += [n for n in request.query_params.getlist("pick") if n not in wanted]
        if not wanted:
            return _error_page(_Refused("name the sweeps to compare: /compare?sweeps=A,B", 400))
        if len(wanted) > MAX_COMPARE:
            return _error_page(_Refused(f"compare at most {MAX_COMPARE} sweeps, got {len(wanted)}", 400))
        try:
            views = [_sweep_view(name) for name in wanted]
        except (StoreError, _Refused) as exc:
            return _error_page(exc)

        def build(_fp: str) -> bytes:
            from hpo.results.dashboard._compare import compare_plot

            series = [compare_series(view["data"]) for _, view in views]
            with _PLOT_LOCK:
                svg = compare_plot(series)
            return compare_page(wanted, svg, series).encode()

        fp = ":".join(fp for fp, _ in views)
        return HTMLResponse(parts.get("compare:" + "\0".join(wanted), fp, build)[1])

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
    return Starlette(routes=routes, middleware=[Middleware(Guard, token=token, hosts=hosts)])
