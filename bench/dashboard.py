"""Dashboard under load: 20 concurrent clients against ``hpo serve`` over a store of 1,000 trials x 20 results.

The store is filled the way bench/store.py fills it (real StoreCallback). The server runs as its own
process (``hpo serve`` on a free loopback port); each client loops over ``/``, ``/sweeps/NAME``,
``/api/sweeps/NAME`` (half of them with If-None-Match, as the live script sends) for ``--seconds``.
Figures: p50/p95 latency per route, requests/s, and the server's peak RSS. Baselines in the same run:
one client alone on the same routes (the concurrency cost is p95 / that p95); and, with
``--baseline-ref`` (default: the commit before the interactive dashboard), the same store served by
that commit's code from a temporary git worktree: its sweep page's size, first render, time to first
paint in headless Chromium, and p95 under the same load.
Targets: p95 page latency < 300 ms, server RSS < 500 MB, the sweep page < 2 MB and first paint < 1 s.

    .venv/bin/python bench/dashboard.py [--trials 1000] [--results 20] [--clients 20] [--seconds 20]
                                        [--baseline-ref c3bc5cc | --baseline-ref none]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.store import SWEEP, ingest  # noqa: E402

ROUTES = ["/", f"/sweeps/{SWEEP}", f"/api/sweeps/{SWEEP}"]
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
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            tag = response.headers.get("ETag")
    except urllib.error.HTTPError as exc:  # 304
        if exc.code != 304:
            raise
        tag = etag
    return (time.perf_counter() - start) * 1000, tag


def _load(base: str, *, clients: int, seconds: float) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {r: [] for r in ROUTES}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        etag: str | None = None
        i = index
        while time.monotonic() < stop:
            route = ROUTES[i % len(ROUTES)]
            ms, tag = _get(base, route, etag if route.startswith("/api") and index % 2 else None)
            if route.startswith("/api"):
                etag = tag
            with lock:
                times[route].append(ms)
            i += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times


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


def _serve(url: str, code: Path, tmp: Path, label: str, args: argparse.Namespace) -> dict[str, Any]:
    """One server (the code under ``code``) over the store: first render, page weight, first paint, load."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(code)}
    server = subprocess.Popen([sys.executable, "-c", "from search.cli import main; main()", "serve", "--store",
                               url, "--port", str(port)], env=env, cwd=code, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        server.stdout.readline()  # "hpo serve: http://..." once it listens
        base = f"http://127.0.0.1:{port}"
        start = time.perf_counter()
        _get(base, f"/sweeps/{SWEEP}", None)
        render_s = time.perf_counter() - start
        for route in ROUTES:
            _get(base, route, None)
        with urllib.request.urlopen(f"{base}/sweeps/{SWEEP}", timeout=60) as response:
            page_bytes = len(response.read())
        with urllib.request.urlopen(f"{base}/static/dash.js", timeout=60) as response:
            page_bytes += len(response.read())
        paint = _first_paint(base, tmp / f"profile-{label}")
        alone = _load(base, clients=1, seconds=min(5.0, args.seconds))
        peak = _rss_mb(server.pid)
        loaded = _load(base, clients=args.clients, seconds=args.seconds)
        peak = max(peak, _rss_mb(server.pid))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"render_s": render_s, "bytes": page_bytes, "paint_s": paint, "alone": alone, "loaded": loaded,
            "peak": peak}


def _worktree(ref: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), ref], check=True,
                   capture_output=True)
    return where


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--results", type=int, default=20)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--baseline-ref", default=BASELINE_REF, help="git ref of today's page ('none': skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        url = f"sqlite:///{tmp / 'store.sqlite'}"
        fill_s = ingest(url, trials=args.trials, results=args.results)
        runs = {"this": _serve(url, ROOT, tmp, "this", args)}
        if args.baseline_ref != "none":
            base_code = _worktree(args.baseline_ref, tmp / "baseline")
            try:
                runs[args.baseline_ref] = _serve(url, base_code, tmp, "baseline", args)
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_code)],
                               check=False, capture_output=True)
    print(f"store: {args.trials} trials x {args.results} results (filled in {fill_s:.1f} s)")
    for label, run in runs.items():
        loaded = run["loaded"]
        every = [ms for v in loaded.values() for ms in v]
        pages = loaded["/"] + loaded[f"/sweeps/{SWEEP}"]
        alone_p95 = _pct([ms for v in run["alone"].values() for ms in v], 0.95)
        paint = "n/a (no chromium)" if run["paint_s"] is None else f"{run['paint_s']:.2f} s"
        print(f"\n[{label}] sweep page {run['bytes'] / 1e6:.2f} MB with its script (target < {TARGET_PAGE_MB:.0f}); "
              f"first render {run['render_s']:.2f} s; first contentful paint in Chromium {paint} "
              f"(target < {TARGET_PAINT_S:.0f} s)")
        for route, values in loaded.items():
            print(f"  {route:<28} n={len(values):>5}  p50 {_pct(values, 0.5):7.1f} ms  p95 "
                  f"{_pct(values, 0.95):7.1f} ms")
        p95 = _pct(pages, 0.95)
        verdict = "OK" if p95 < TARGET_P95_MS else "MISS"
        print(f"  {args.clients} clients for {args.seconds:.0f} s: {len(every) / args.seconds:.0f} requests/s, "
              f"p95 page latency {p95:.1f} ms (target < {TARGET_P95_MS:.0f}) -> {verdict}")
        print(f"  1 client alone: p95 {alone_p95:.1f} ms; ratio under load {_pct(every, 0.95) / alone_p95:.1f}x")
        print(f"  server peak RSS {run['peak']:.0f} MB (target < {TARGET_RSS_MB:.0f}) -> "
              f"{'OK' if run['peak'] < TARGET_RSS_MB else 'MISS'}")
    if len(runs) == 2:
        this, before = runs["this"], runs[args.baseline_ref]
        p95 = {k: _pct(v["loaded"]["/"] + v["loaded"][f"/sweeps/{SWEEP}"], 0.95) for k, v in runs.items()}
        print(f"\nagainst {args.baseline_ref} (today's page): page size {this['bytes'] / before['bytes']:.2f}x, "
              f"first render {this['render_s'] / before['render_s']:.2f}x, p95 page latency "
              f"{p95['this'] / p95[args.baseline_ref]:.2f}x" + (
                  f", first paint {this['paint_s'] / before['paint_s']:.2f}x"
                  if this["paint_s"] and before["paint_s"] else ""))


if __name__ == "__main__":
    main()
