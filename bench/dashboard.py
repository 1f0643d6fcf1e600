"""Dashboard under load: 20 concurrent clients against ``hpo serve`` over a store of 1,000 trials x 20 results.

The store is filled the way bench/store.py fills it (real StoreCallback). The server runs as its own
process (``hpo serve`` on a free loopback port); each client loops over ``/``, ``/sweeps/NAME``,
``/api/sweeps/NAME`` (half of them with If-None-Match, as the live script sends) for ``--seconds``.
Figures: p50/p95 latency per route, requests/s, and the server's peak RSS. Baseline in the same run:
one client alone on the same routes (the concurrency cost is p95 / that p95).
Targets: p95 page latency < 300 ms and server RSS < 500 MB.

    .venv/bin/python bench/dashboard.py [--trials 1000] [--results 20] [--clients 20] [--seconds 20]
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

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.store import SWEEP, ingest  # noqa: E402

ROUTES = ["/", f"/sweeps/{SWEEP}", f"/api/sweeps/{SWEEP}"]
TARGET_P95_MS = 300.0
TARGET_RSS_MB = 500.0


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--results", type=int, default=20)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'store.sqlite'}"
        fill_s = ingest(url, trials=args.trials, results=args.results)
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen([sys.executable, "-c", "from search.cli import main; main()", "serve", "--store",
                                   url, "--port", str(port)], env=env, stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            server.stdout.readline()  # "hpo serve: http://..." once it listens
            base = f"http://127.0.0.1:{port}"
            start = time.perf_counter()
            for route in ROUTES:
                _get(base, route, None)
            cold_s = time.perf_counter() - start
            alone = _load(base, clients=1, seconds=min(5.0, args.seconds))
            peak = _rss_mb(server.pid)
            loaded = _load(base, clients=args.clients, seconds=args.seconds)
            peak = max(peak, _rss_mb(server.pid))
        finally:
            server.terminate()
            server.wait(timeout=30)
    every = [ms for v in loaded.values() for ms in v]
    pages = loaded["/"] + loaded[f"/sweeps/{SWEEP}"]
    alone_p95 = _pct([ms for v in alone.values() for ms in v], 0.95)
    print(f"store: {args.trials} trials x {args.results} results (filled in {fill_s:.1f} s); first render of the "
          f"3 routes {cold_s:.2f} s (cold: plots, importance)")
    for route, values in loaded.items():
        print(f"  {route:<28} n={len(values):>5}  p50 {_pct(values, 0.5):7.1f} ms  p95 {_pct(values, 0.95):7.1f} ms")
    p95 = _pct(pages, 0.95)
    print(f"{args.clients} clients for {args.seconds:.0f} s: {len(every) / args.seconds:.0f} requests/s, "
          f"p95 page latency {p95:.1f} ms (target < {TARGET_P95_MS:.0f}) -> {'OK' if p95 < TARGET_P95_MS else 'MISS'}")
    print(f"baseline, 1 client alone: p95 {alone_p95:.1f} ms; ratio under load {_pct(every, 0.95) / alone_p95:.1f}x")
    print(f"server peak RSS {peak:.0f} MB (target < {TARGET_RSS_MB:.0f}) -> {'OK' if peak < TARGET_RSS_MB else 'MISS'}")


if __name__ == "__main__":
    main()
