"""No cost of our own: the same trivial trainable through ``hpo sweep`` and through Ray Tune at its fastest.

Each run is its own Python process, timed from its start to its exit, as a user waits for it: imports,
Ray's start, the store's set-up and the final summary included. Both sides run the same trivial
trainable (one report per trial, 0.5 CPU each: 4 at once on 2 CPUs), random search, FIFO.

- **raw Tune at its fastest**: a hand-written ``Tuner`` with ``reuse_actors=True``, Ray's automatic
  logger callbacks off (``TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=1``), ``verbose=0``;
- **hpo**: ``hpo sweep spec.yaml -q`` (store callback, checkpoint retention, heartbeat, Tune's per-trial
  files and TensorBoard events: all that a sweep does);
- **hpo***: the same with Tune's per-trial files off (``TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=1``, the
  raw side's switch, which hpo honours for its TensorBoard events too): like for like.

Each side runs ``--repeat`` times (default 3), the order reversed each round, and the medians are printed:
on a shared machine one run of the same side moved by up to 1.9x. For each trial count it prints the
wall-time ratios (medians of each round's ratio), the driver's CPU time per trial, the driver's peak RSS
(and the slope of RSS per trial between the smallest and largest counts), the store's result rows per
second, and the time from a trial's report (its own clock) to its row in the store (p50, p95).
Targets (issue 26): ratio <= 1.0x at 100 and 1,000 trials; driver RSS <= 1.1x raw Tune's at 1,000.

``--queries N`` instead reads a store of N trials x 20 results (filled through the real StoreCallback, as
bench/store.py does) the way a user does, each command its own process: ``hpo ls``, ``hpo trials``,
``hpo best``, ``hpo report --format html`` (and its size), and the dashboard's sweep page (first render,
then warm; a big sweep's page comes without its plots, which the script then fetches one by one from their
own URLs: the time until the last is in, from the page's request, is printed too), on SQLite and, with
``--pg URL``, PostgreSQL. The page is timed once the server answers (its start line comes before the app is
made; that wait is printed apart). Target: each <= 2 s at 10,000; report <= 10 MB.

    .venv/bin/python bench/scale.py [--trials 100 1000] [--repeat 3] [--big]   # --big adds 10,000, once
    .venv/bin/python bench/scale.py --queries 10000 [--pg postgresql+psycopg2://USER:PW@127.0.0.1/DB]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
CPU_PER_TRIAL = 0.5
_RUN_LIMIT_S = 3600  # one side of one trial count (10,000 trials take minutes): past it, the bench stops


def trivial(config: dict[str, Any]) -> None:
    """One report, stamped with the trial's own clock (the store latency is measured against it)."""
    from ray import tune

    tune.report({"loss": (config["x"] - 0.5) ** 2, "reported_at": time.time()})


_RAW = r"""
import json, os, resource, sys, time
os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
import ray
from ray import tune
from bench.scale import trivial, CPU_PER_TRIAL
trials, storage = int(sys.argv[1]), sys.argv[2]
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
tuner = tune.Tuner(
    tune.with_resources(trivial, {"cpu": CPU_PER_TRIAL}),
    param_space={"x": tune.uniform(0.0, 1.0)},
    tune_config=tune.TuneConfig(metric="loss", mode="min", num_samples=trials, reuse_actors=True),
    run_config=tune.RunConfig(name="raw", storage_path=storage, verbose=0),
)
grid = tuner.fit()
best = grid.get_best_result()
print("best", best.metrics["loss"])
ray.shutdown()
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"cpu_s": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}))
"""

_HPO = r"""
import json, resource, sys
from hpo.search.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
else:
    code = 0
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"cpu_s": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024, "code": code}))
"""


def _spec(path: Path, trials: int) -> None:
    import yaml

    path.write_text(yaml.safe_dump({
        "name": "scale", "trainable": "bench.scale:trivial", "metric": "loss", "mode": "min",
        "search": {"algorithm": "random", "num_samples": trials, "seed": 0},
        "scheduler": {"type": "fifo", "max_t": 1},
        "resources": {"cpu": CPU_PER_TRIAL},
        "cluster": {"num_cpus": 2},
        "params": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
    }))


def _run(args: list[str], *, cwd: Path, **extra_env: str) -> tuple[float, dict[str, Any], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra_env}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=False, timeout=_RUN_LIMIT_S)
    wall = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{args[1:]} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return wall, json.loads(lines[-1]), done.stdout


def _store_figures(home: Path) -> dict[str, float]:
    from hpo.results import Store

    with Store.open(home=home) as store:
        frame = store.results_frame("scale")
        reported = {t.trial_id: t.last_result.get("reported_at") for t in store.trials("scale")}
    recorded = frame.set_index("trial_id")["recorded"]
    lags = [float(recorded[tid]) - float(at) for tid, at in reported.items() if at is not None and tid in recorded]
    span = float(frame["recorded"].max() - frame["recorded"].min()) or 1.0
    ordered = sorted(lags)
    return {"rows": len(frame), "rows_per_s": len(frame) / span, "lag_p50_ms": 1000 * statistics.median(ordered),
            "lag_p95_ms": 1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]}


# The sides of one trial count: raw Tune, hpo as shipped, and hpo with Tune's per-trial files off
# (TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=1, the switch the raw side sets: like for like).
SIDES = ("raw", "hpo", "hpo_nofiles")


def _side(side: str, trials: int, tmp: Path, rep: int) -> dict[str, Any]:
    if side == "raw":
        wall, usage, _ = _run([_RAW, str(trials), str(tmp / f"raw-{trials}-{rep}")], cwd=tmp)
        return {"wall": wall, **usage}
    home = tmp / f"{side}-{trials}-{rep}"
    spec = tmp / f"scale-{trials}.yaml"
    _spec(spec, trials)
    extra = {"TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1"} if side == "hpo_nofiles" else {}
    wall, usage, _ = _run([_HPO, "sweep", str(spec), "-q", "--home", str(home)], cwd=tmp, **extra)
    return {"wall": wall, **usage, "store": _store_figures(home)}


def measure(trials: int, tmp: Path, *, repeat: int = 1) -> dict[str, Any]:
    """Every side ``repeat`` times at one trial count, the order reversed each round (a slow spell of the
    machine then falls on each side in turn); medians of each side, and of the per-round ratios."""
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    for rep in range(repeat):
        for side in SIDES if rep % 2 == 0 else tuple(reversed(SIDES)):
            runs[side].append(_side(side, trials, tmp, rep))
    med = statistics.median
    out: dict[str, Any] = {"trials": trials, "repeat": repeat}
    for side, got in runs.items():
        out[side] = {k: med(run[k] for run in got) for k in ("wall", "cpu_s", "rss_mb")}
    for side in ("hpo", "hpo_nofiles"):
        out[f"{side}_ratio"] = med(h["wall"] / r["wall"] for h, r in zip(runs[side], runs["raw"], strict=True))
        out[f"{side}_rss_ratio"] = med(h["rss_mb"] / r["rss_mb"] for h, r in zip(runs[side], runs["raw"], strict=True))
    out["store"] = {k: med(r["store"][k] for r in runs["hpo"]) for k in runs["hpo"][0]["store"]}
    return out


def _timed(args: list[str], *, cwd: Path) -> tuple[float, float]:
    """Wall seconds of ``hpo ARGS`` in its own process, and the CPU seconds it used (less load-sensitive)."""
    import resource

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "from hpo.search.cli import main; main()", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False, timeout=_RUN_LIMIT_S)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"hpo {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def _cpu_of(pid: int) -> float | None:
    """CPU seconds process ``pid`` has used so far (Linux's /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def queries(url: str, tmp: Path, *, trials: int) -> dict[str, float]:
    """Fill a store of ``trials`` x 20 results, then time each read command and the dashboard's sweep page."""
    import socket
    import urllib.request

    from bench.store import SWEEP, ingest

    fill_s = ingest(url, trials=trials)
    out: dict[str, float] = {"fill_s": fill_s}
    for label, args in (("ls", ["ls"]), ("trials", ["trials", SWEEP, "--top", "20"]), ("best", ["best", SWEEP]),
                        ("report", ["report", SWEEP, "--format", "html", "-o", str(tmp / "report.html")])):
        out[label], out[f"{label}_cpu"] = _timed([*args, "--store", url, "--home", str(tmp)], cwd=tmp)
    out["report_mb"] = (tmp / "report.html").stat().st_size / 1e6
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-c", "from hpo.search.cli import main; main()", "serve", "--store", url,
                               "--port", str(port), "--home", str(tmp)], env=env, cwd=tmp, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert server.stdout is not None
        server.stdout.readline()  # printed before the app is made (its imports, matplotlib's fonts: ~0.6 s)
        start = time.perf_counter()
        while True:  # ready: the script answers (no store read), so the first page times its own render
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/dash.js", timeout=300) as response:
                    response.read()
                break
            except OSError:
                time.sleep(0.05)
        out["ready"] = time.perf_counter() - start
        for label in ("page_first", "page_warm"):
            cpu = _cpu_of(server.pid)
            start = time.perf_counter()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/sweeps/{SWEEP}", timeout=300) as response:
                page = response.read()
            out[f"{label}_mb"] = len(page) / 1e6
            out[label] = time.perf_counter() - start
            spent = _cpu_of(server.pid)
            out[f"{label}_cpu"] = float("nan") if cpu is None or spent is None else spent - cpu
            if label == "page_first":  # a big sweep's plots come after its page, each from its own URL
                slots = re.findall(rb'class="plot-slot" data-src="([^"]+)"', page)
                for src in slots:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{src.decode().replace('&amp;', '&')}",
                                                timeout=300) as response:
                        response.read()
                out["plots"], out["plots_n"] = time.perf_counter() - start, len(slots)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return out


def _drop(url: str) -> None:
    from sqlalchemy import create_engine

    from hpo.results.store.schema import metadata

    engine = create_engine(url)
    metadata.drop_all(engine)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--big", action="store_true", help="also 10,000 trials (run once)")
    parser.add_argument("--repeat", type=int, default=3, metavar="R",
                        help="rounds of every side per trial count (medians; default 3)")
    parser.add_argument("--queries", type=int, default=None, metavar="N", help="time the read commands at N trials")
    parser.add_argument("--pg", default=None, metavar="URL", help="with --queries: also on this PostgreSQL (emptied)")
    args = parser.parse_args()
    if args.queries:
        with tempfile.TemporaryDirectory() as tmp_dir:
            stores = {"SQLite": f"sqlite:///{Path(tmp_dir) / 'q.sqlite'}"}
            if args.pg:
                stores["PostgreSQL"] = args.pg
            print(f"{args.queries} trials x 20 results; each command its own process: wall seconds (CPU seconds); "
                  "target <= 2 s wall, report <= 10 MB")
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            print(f"machine: {platform.machine()} {os.cpu_count()} CPU(s), load average {load:.1f} at the start "
                  "(wall grows with other load; CPU seconds much less)")
            for name, url in stores.items():
                if name == "PostgreSQL":
                    _drop(url)
                got = queries(url, Path(tmp_dir), trials=args.queries)
                print(f"{name:<11} fill {got['fill_s']:.1f} s | ls {got['ls']:.2f} ({got['ls_cpu']:.2f}) | trials "
                      f"--top 20 {got['trials']:.2f} ({got['trials_cpu']:.2f}) | best {got['best']:.2f} "
                      f"({got['best_cpu']:.2f}) | report html {got['report']:.2f} ({got['report_cpu']:.2f}), "
                      f"{got['report_mb']:.1f} MB | sweep page first {got['page_first']:.2f} "
                      f"({got['page_first_cpu']:.2f}) once the server answers ({got['ready']:.2f} after its "
                      f"start line), its {got['plots_n']} plots in by {got['plots']:.2f}, warm "
                      f"{got['page_warm']:.2f} ({got['page_warm_cpu']:.2f}), {got['page_first_mb']:.1f} MB",
                      flush=True)
                if name == "PostgreSQL":
                    _drop(url)
        return
    counts = sorted(set(args.trials + ([10_000] if args.big else [])))
    import ray

    rows = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        for trials in counts:
            row = measure(trials, Path(tmp_dir), repeat=args.repeat if trials < 10_000 else 1)
            rows.append(row)
            print(f"{trials} trials (median of {row['repeat']}): hpo {row['hpo']['wall']:.1f} s, hpo without trial "
                  f"files {row['hpo_nofiles']['wall']:.1f} s, raw Tune {row['raw']['wall']:.1f} s", flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nmachine: {platform.machine()} {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}, "
          f"ray {ray.__version__}, load average {load:.1f} at the end; trivial trials, 1 report each, "
          f"{CPU_PER_TRIAL} CPU per trial, random, FIFO")
    print("hpo: as shipped; hpo*: Tune's per-trial files off (TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=1), as on the raw "
          "side; ratios are medians of each round's ratio")
    print(f"{'trials':>7} {'raw s':>7} {'hpo s':>7} {'ratio':>6} {'hpo* s':>7} {'ratio*':>6} {'ms/trial raw':>12} "
          f"{'hpo':>5} {'hpo*':>5} {'RSS raw':>8} {'hpo':>6} {'hpo*':>6} {'ratio':>6} {'ratio*':>6} {'rows/s':>7} "
          f"{'lag p50':>8} {'lag p95':>8}")
    for row in rows:
        n, raw, hpo, bare, store = row["trials"], row["raw"], row["hpo"], row["hpo_nofiles"], row["store"]
        print(f"{n:>7} {raw['wall']:>7.1f} {hpo['wall']:>7.1f} {row['hpo_ratio']:>5.2f}x {bare['wall']:>7.1f} "
              f"{row['hpo_nofiles_ratio']:>5.2f}x {1000 * raw['cpu_s'] / n:>12.1f} {1000 * hpo['cpu_s'] / n:>5.1f} "
              f"{1000 * bare['cpu_s'] / n:>5.1f} {raw['rss_mb']:>6.0f}MB {hpo['rss_mb']:>4.0f}MB "
              f"{bare['rss_mb']:>4.0f}MB "
              f"{row['hpo_rss_ratio']:>5.2f}x {row['hpo_nofiles_rss_ratio']:>5.2f}x {store['rows_per_s']:>7.0f} "
              f"{store['lag_p50_ms']:>6.0f}ms {store['lag_p95_ms']:>6.0f}ms")
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        span = last["trials"] - first["trials"]
        for side in SIDES:
            slope = (last[side]["rss_mb"] - first[side]["rss_mb"]) * 1024 / span
            print(f"driver RSS slope {side}: {slope:.1f} KB per trial ({first['trials']} -> {last['trials']})")
    print("targets: ratio <= 1.0x at 100 and 1,000 trials; driver RSS <= 1.1x raw Tune's at 1,000")


if __name__ == "__main__":
    main()
