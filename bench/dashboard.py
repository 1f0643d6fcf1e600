"""Dashboard under load: 20 concurrent clients against ``hpo serve`` over a store of 1,000 trials x 20 results.

The store is filled the way bench/store.py fills it (real StoreCallback), with two sweeps of the same size:
``bench-store`` and, for the compare page, ``bench-store-b`` (``ingest(..., sweep="bench-store-b", seed=1)``:
the same spec under another name, other configs and losses). The server runs as its own process
(``hpo serve`` on a free loopback port); each client loops over ``/``, ``/sweeps/NAME``, ``/api/sweeps/NAME``
(half of them with If-None-Match, as the live script sends), the trial page ``/sweeps/NAME/trials/ID``
(cycling over 5 real trial ids of the sweep, read from the store: best, quartiles, worst) and the compare page
``/compare?sweeps=bench-store,bench-store-b`` for ``--seconds`` (``--routes sweep``: only the first three,
the mix the README's figure was measured with). Figures: p50/p95 latency per route, requests/s, the server's
peak RSS, and the trial and compare pages' p95 over the sweep page's p95 under that same load. Baselines in
the same run: one client alone on the same routes (the concurrency cost is p95 / that p95); and, with
``--baseline-ref`` (default: the commit before the interactive dashboard), the same store served by that
commit's code from a temporary git worktree: its sweep page's size, first render, time to first paint in
headless Chromium, and p95 under the same load. A route that code does not answer with 200 (c3bc5cc has no
trial page) is left out of its load, and the output says so.
Targets: p95 page latency (``/`` and the sweep page) < 300 ms, server RSS < 500 MB, the sweep page < 2 MB and
first paint < 1 s; trial and compare page p95 under the sweep page's p95 with 20 clients.

    .venv/bin/python bench/dashboard.py [--trials 1000] [--results 20] [--clients 20] [--seconds 20]
                                        [--routes all | --routes sweep]
                                        [--baseline-ref c3bc5cc | --baseline-ref none]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.store import SWEEP, ingest  # noqa: E402

SECOND = f"{SWEEP}-b"  # the compare page's other sweep
INDEX, SWEEP_PAGE, API = "/", f"/sweeps/{SWEEP}", f"/api/sweeps/{SWEEP}"
TRIAL = f"/sweeps/{SWEEP}/trials/ID"  # a label: the clients cycle over real ids
COMPARE = f"/compare?sweeps={SWEEP},{SECOND}"
TRIAL_IDS = 5  # trial pages in the cycle: the best, the quartiles and the worst trial
TARGET_P95_MS = 300.0
TARGET_RSS_MB = 500.0
TARGET_PAGE_MB = 2.0
TARGET_PAINT_S = 1.0
BASELINE_REF = "c3bc5cc"  # the dashboard before trial pages, hit maps, brushing, timeline and contour


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _get(base: str, route: str, etag: str | None) -> tuple[float, str | None]:
    request = urllib.request.Request(base + route, headers={"If-None-Match": etag} if etag else {})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            tag = response.headers.get("ETag")
    except urllib.error.HTTPError as exc:  # 304
        if exc.code != 304:
            raise
        tag = etag
    return (time.perf_counter() - start) * 1000, tag


def _status(base: str, route: str) -> int:
    try:
        with urllib.request.urlopen(base + route, timeout=120) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _routes(which: str, trial_ids: list[str]) -> dict[str, list[str]]:
    """Label -> the paths a client cycles through under it."""
    routes = {INDEX: [INDEX], SWEEP_PAGE: [SWEEP_PAGE], API: [API]}
    if which == "all":
        routes[TRIAL] = [f"/sweeps/{SWEEP}/trials/{quote(t, safe='')}" for t in trial_ids]
        routes[COMPARE] = [COMPARE]
    return routes


def _load(base: str, routes: dict[str, list[str]], *, clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` threads, each looping over the routes for ``seconds``; a request in flight then finishes."""
    times: dict[str, list[float]] = {label: [] for label in routes}
    errors: dict[str, list[str]] = {label: [] for label in routes}
    labels = list(routes)
    lock = threading.Lock()
    start = time.monotonic()
    stop = start + seconds

    def client(index: int) -> None:
        etag: str | None = None
        i = index
        while time.monotonic() < stop:
            label = labels[i % len(labels)]
            path = routes[label][(i // len(labels)) % len(routes[label])]
            i += 1
            api = label.startswith("/api")
            try:
                ms, tag = _get(base, path, etag if api and index % 2 else None)
            except (OSError, http.client.HTTPException) as exc:  # a timeout or a 5xx: counted, not fatal
                with lock:
                    errors[label].append(f"{type(exc).__name__}: {exc}")
                continue
            if api:
                etag = tag
            with lock:
                times[label].append(ms)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"times": times, "errors": errors, "elapsed": time.monotonic() - start}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _first_paint(base: str, profile: Path) -> float | None:
    """Seconds from navigation to first contentful paint of the sweep page in headless Chromium."""
    sys.path.insert(0, str(ROOT / "tests" / "results_tests"))
    from cdp import CHROMIUM, Chromium

    if not CHROMIUM.exists():
        return None
    with Chromium(profile) as page:
        page.go(f"{base}/sweeps/{SWEEP}")
        page.wait("performance.getEntriesByName('first-contentful-paint').length > 0")
        return page.js("performance.getEntriesByName('first-contentful-paint')[0].startTime") / 1000


def _serve(url: str, code: Path, tmp: Path, label: str, routes: dict[str, list[str]],
           args: argparse.Namespace) -> dict[str, Any]:
    """One server (the code under ``code``) over the store: first render, page weight, first paint, load."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(code)}
    server = subprocess.Popen([sys.executable, "-c", "from hpo.search.cli import main; main()", "serve", "--store",
                               url, "--port", str(port)], env=env, cwd=code, stdout=subprocess.PIPE, text=True)
    skipped: dict[str, str] = {}
    try:
        assert server.stdout is not None
        server.stdout.readline()  # "hpo serve: http://..." once it listens
        base = f"http://127.0.0.1:{port}"
        start = time.perf_counter()
        _get(base, f"/sweeps/{SWEEP}", None)
        render_s = time.perf_counter() - start
        for name, paths in routes.items():  # warm every route; a trial or compare page it lacks is left out
            for path in paths:
                if name not in (TRIAL, COMPARE):
                    _get(base, path, None)
                elif name not in skipped and (status := _status(base, path)) != 200:
                    skipped[name] = f"answers {status} on {path}"
        routes = {name: paths for name, paths in routes.items() if name not in skipped}
        with urllib.request.urlopen(f"{base}/sweeps/{SWEEP}", timeout=60) as response:
            page_bytes = len(response.read())
        with urllib.request.urlopen(f"{base}/static/dash.js", timeout=60) as response:
            page_bytes += len(response.read())
        paint = _first_paint(base, tmp / f"profile-{label}")
        alone = _load(base, routes, clients=1, seconds=min(5.0, args.seconds))
        peak = _rss_mb(server.pid)
        loaded = _load(base, routes, clients=args.clients, seconds=args.seconds)
        peak = max(peak, _rss_mb(server.pid))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"render_s": render_s, "bytes": page_bytes, "paint_s": paint, "alone": alone, "loaded": loaded,
            "peak": peak, "skipped": skipped, "routes": routes}


def _worktree(ref: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), ref], check=True,
                   capture_output=True)
    return where


def _trial_ids(url: str) -> list[str]:
    """``TRIAL_IDS`` real trial ids of the sweep, spread from the best to the worst."""
    from hpo.results import Store

    store = Store.open(url)
    try:
        ids = [t.trial_id for t in store.trials(SWEEP)]
    finally:
        store.close()
    picks = sorted({round(k * (len(ids) - 1) / max(1, TRIAL_IDS - 1)) for k in range(TRIAL_IDS)})
    return [ids[k] for k in picks]


def _report(label: str, run: dict[str, Any], args: argparse.Namespace) -> None:
    times, errors = run["loaded"]["times"], run["loaded"]["errors"]
    every = [ms for v in times.values() for ms in v]
    pages = times[INDEX] + times[SWEEP_PAGE]
    alone_p95 = _pct([ms for v in run["alone"]["times"].values() for ms in v], 0.95)
    paint = "n/a (no chromium)" if run["paint_s"] is None else f"{run['paint_s']:.2f} s"
    print(f"\n[{label}] sweep page {run['bytes'] / 1e6:.2f} MB with its script (target < {TARGET_PAGE_MB:.0f}); "
          f"first render {run['render_s']:.2f} s; first contentful paint in Chromium {paint} "
          f"(target < {TARGET_PAINT_S:.0f} s)")
    for route, values in times.items():
        ids = f" ({len(run['routes'][route])} ids)" if route == TRIAL else ""
        failed = f"  errors {len(errors[route])}" if errors[route] else ""
        print(f"  {route + ids:<46} n={len(values):>5}  p50 {_pct(values, 0.5):7.1f} ms  p95 "
              f"{_pct(values, 0.95):7.1f} ms{failed}")
    for route, why in run["skipped"].items():
        print(f"  {route:<46} skipped: this code {why}")
    for route, messages in errors.items():
        if messages:
            print(f"  {route}: {len(messages)} requests failed, first: {messages[0]}")
    p95 = _pct(pages, 0.95)
    verdict = "OK" if p95 < TARGET_P95_MS else "MISS"
    print(f"  {args.clients} clients for {args.seconds:.0f} s ({run['loaded']['elapsed']:.1f} s with the requests "
          f"in flight): {len(every) / run['loaded']['elapsed']:.0f} requests/s, p95 page latency (/ and the sweep "
          f"page) {p95:.1f} ms (target < {TARGET_P95_MS:.0f}) -> {verdict}")
    sweep_p95 = _pct(times[SWEEP_PAGE], 0.95)
    measured = [(name, route) for name, route in (("trial", TRIAL), ("compare", COMPARE)) if times.get(route)]
    for name, route in measured:
        print(f"  {name} p95 / sweep p95: {_pct(times[route], 0.95):.1f} / {sweep_p95:.1f} ms = "
              f"{_pct(times[route], 0.95) / sweep_p95:.2f}x (p50 {_pct(times[route], 0.5):.1f} ms)")
    if measured:
        ok = all(_pct(times[route], 0.95) < sweep_p95 for _, route in measured)
        names = " and ".join(name for name, _ in measured)
        unmeasured = [name for name, route in (("trial", TRIAL), ("compare", COMPARE))
                      if args.routes == "all" and not times.get(route)]
        print(f"  target: {names} page p95 under the sweep page's p95 with {args.clients} clients -> "
              f"{'OK' if ok else 'MISS'}" + (f" ({' and '.join(unmeasured)} not measured)" if unmeasured else ""))
    print(f"  1 client alone: p95 {alone_p95:.1f} ms; ratio under load {_pct(every, 0.95) / alone_p95:.1f}x")
    print(f"  server peak RSS {run['peak']:.0f} MB (target < {TARGET_RSS_MB:.0f}) -> "
          f"{'OK' if run['peak'] < TARGET_RSS_MB else 'MISS'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000, help="trials in each of the two sweeps")
    parser.add_argument("--results", type=int, default=20)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--routes", choices=["all", "sweep"], default="all",
                        help="'sweep': only /, the sweep page and its API (no trial or compare page)")
    parser.add_argument("--baseline-ref", default=BASELINE_REF, help="git ref of today's page ('none': skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        url = f"sqlite:///{tmp / 'store.sqlite'}"
        fill_s = ingest(url, trials=args.trials, results=args.results)
        if args.routes == "all":
            fill_s += ingest(url, trials=args.trials, results=args.results, seed=1, sweep=SECOND)
        trial_ids = _trial_ids(url)
        routes = _routes(args.routes, trial_ids)
        runs = {"this": _serve(url, ROOT, tmp, "this", routes, args)}
        if args.baseline_ref != "none":
            base_code = _worktree(args.baseline_ref, tmp / "baseline")
            try:
                runs[args.baseline_ref] = _serve(url, base_code, tmp, "baseline", routes, args)
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_code)],
                               check=False, capture_output=True)
    sweeps = f"{SWEEP} and {SECOND}, each" if args.routes == "all" else SWEEP
    print(f"store: {sweeps} {args.trials} trials x {args.results} results (filled in {fill_s:.1f} s); "
          f"trial pages: {', '.join(trial_ids) if args.routes == 'all' else 'not loaded (--routes sweep)'}")
    for label, run in runs.items():
        _report(label, run, args)
    if len(runs) == 2:
        this, before = runs["this"], runs[args.baseline_ref]
        p95 = {k: _pct(v["loaded"]["times"][INDEX] + v["loaded"]["times"][SWEEP_PAGE], 0.95) for k, v in runs.items()}
        ratios = [f"page size {this['bytes'] / before['bytes']:.2f}x",
                  f"first render {this['render_s'] / before['render_s']:.2f}x",
                  f"p95 page latency {p95['this'] / p95[args.baseline_ref]:.2f}x"]
        if this["paint_s"] and before["paint_s"]:
            ratios.append(f"first paint {this['paint_s'] / before['paint_s']:.2f}x")
        if this["loaded"]["times"].get(COMPARE) and before["loaded"]["times"].get(COMPARE):
            compare = [_pct(run["loaded"]["times"][COMPARE], 0.95) for run in (this, before)]
            ratios.append(f"compare page p95 {compare[0] / compare[1]:.2f}x")
        print(f"\nagainst {args.baseline_ref} (today's page): {', '.join(ratios)}")
        if before["skipped"]:
            print(f"  (its load left out {', '.join(before['skipped'])}: the two mixes differ by those routes)")


if __name__ == "__main__":
    main()
