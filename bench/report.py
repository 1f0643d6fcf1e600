"""HTML report of a big sweep: 1,000 trials x 20 results (filled as in bench/store.py).

Figure: seconds to write the self-contained HTML report (plots included) and its size.
Baseline in the same run: the JSON report of the same store (the same queries, no plots),
so the ratio is what rendering and plotting cost on top of reading the data. Also the
Markdown report (plots as sibling SVG files). Target: HTML < 10 s and < 5 MB.

    .venv/bin/python bench/report.py [--trials 1000] [--results 20] [--store-dir DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_S = 10.0
TARGET_MB = 5.0


def _bench_store() -> object:
    spec = importlib.util.spec_from_file_location("hpo_bench_store", Path(__file__).with_name("store.py"))
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--results", type=int, default=20)
    parser.add_argument("--store-dir", type=Path, default=None,
                        help="Reuse the store bench/store.py --keep DIR wrote (else build one).")
    args = parser.parse_args()

    bench_store = _bench_store()
    if args.store_dir and (args.store_dir / "store.sqlite").exists():
        folder = args.store_dir
    else:
        folder = args.store_dir or Path(tempfile.mkdtemp(prefix="hpo-bench-report-"))
        folder.mkdir(parents=True, exist_ok=True)
        bench_store.ingest(f"sqlite:///{folder / 'store.sqlite'}", trials=args.trials, results=args.results)
    url = f"sqlite:///{folder / 'store.sqlite'}"

    from hpo.results import Store, export_report

    name = bench_store.SWEEP
    with Store.open(url, home=folder) as store:
        trials = len(store.trials(name))
        results = len(store.results_frame(name))
        timings = {}
        for fmt in ("json", "html", "md"):
            start = time.perf_counter()
            path = export_report(name, fmt=fmt, store=store)
            timings[fmt] = (time.perf_counter() - start, path)

    html_s, html_path = timings["html"]
    json_s, json_path = timings["json"]
    md_s, md_path = timings["md"]
    html_mb = html_path.stat().st_size / 1e6
    svgs = sorted(md_path.parent.glob(f"{md_path.stem}.*.svg"))
    md_mb = (md_path.stat().st_size + sum(p.stat().st_size for p in svgs)) / 1e6
    ok = html_s < TARGET_S and html_mb < TARGET_MB
    print(f"report of {trials} trials x {results // max(trials, 1)} results ({results} results)")
    figures = html_path.read_text(encoding="utf-8").count('<figure id="plot-')
    print(f"  html (self-contained, {figures} inline SVG plots): {html_s:5.2f} s, {html_mb:.2f} MB   "
          f"target < {TARGET_S:.0f} s and < {TARGET_MB:.0f} MB: {'OK' if ok else 'MISSED'}  ({html_path})")
    print(f"  baseline: json report, same queries, no plots: {json_s:5.2f} s, "
          f"{json_path.stat().st_size / 1e6:.2f} MB")
    print(f"  ratio html/json: {html_s / json_s:.1f}x;  html vs target: {html_s / TARGET_S:.2f}x time, "
          f"{html_mb / TARGET_MB:.2f}x size")
    print(f"  md + {len(svgs)} SVG files: {md_s:5.2f} s, {md_mb:.2f} MB")


if __name__ == "__main__":
    main()
