"""Results store throughput: 1,000 trials x 20 results through StoreCallback into SQLite.

Figure: seconds (and results/s) for the whole callback path (real ``ray.tune`` Trial objects,
Ray-shaped result dicts, 8 trials running at a time, ``on_step_end`` between steps, the
callback's own batching), ending with every row committed. Baseline in the same run: the
floor, the same 20,000 result rows written with plain ``sqlite3.executemany`` in one
transaction. Then ``hpo trials`` on the filled store, in-process and as a fresh process.
Target: ingest < 10 s on the 2-core CI machine.

    .venv/bin/python bench/store.py [--trials 1000] [--results 20] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SWEEP = "bench-store"
METRIC = "val_loss"
MAX_T = 20
CONCURRENT = 8
TARGET_S = 10.0

SPEC_YAML = f"""\
name: {SWEEP}
trainable: cifar
metric: {METRIC}
mode: min
search: {{algorithm: hyperopt, num_samples: 1000, max_concurrent: {CONCURRENT}, seed: 0}}
scheduler: {{type: asha, max_t: {MAX_T}, grace_period: 1, reduction_factor: 2}}
resources: {{cpu: 1, gpu: 0.25}}
params:
  lr: {{type: float, low: 1.0e-4, high: 1.0e-1, log: true}}
  momentum: {{type: float, low: 0.8, high: 0.99}}
  batch_size: {{type: choice, values: [64, 128, 256]}}
  l1: {{type: pow2, low: 4, high: 256}}
  optimizer:
    type: choice
    values:
      - {{name: sgd, nesterov: {{type: choice, values: [true, false]}}}}
      - {{name: adamw, weight_decay: {{type: float, low: 1.0e-6, high: 1.0e-2, log: true}}}}
fixed: {{dataset: synthetic, epochs: {MAX_T}}}
"""


def _config(rng: random.Random) -> dict[str, Any]:
    optimizer = ({"name": "sgd", "nesterov": rng.random() < 0.5} if rng.random() < 0.5
                 else {"name": "adamw", "weight_decay": 10 ** rng.uniform(-6, -2)})
    return {"lr": 10 ** rng.uniform(-4, -1), "momentum": rng.uniform(0.8, 0.99),
            "batch_size": rng.choice([64, 128, 256]), "l1": 2 ** rng.randint(2, 8), "optimizer": optimizer,
            "dataset": "synthetic", "epochs": MAX_T}


def _result(trial: Any, step: int, quality: float) -> dict[str, Any]:
    """A result dict shaped like Ray's: the trainable's metrics plus Ray's bookkeeping keys."""
    loss = 2.3 * (0.55 + quality) / (1 + 0.25 * step) + 0.01 * step * quality
    return {
        "train_loss": loss * 0.9, "val_loss": loss, "val_acc": max(0.0, 1 - loss / 2.5),
        "epoch_time_s": 0.8, "images_per_s": 50_000.0, "training_iteration": step,
        "time_total_s": 0.8 * step, "time_this_iter_s": 0.8, "time_since_restore": 0.8 * step,
        "iterations_since_restore": step, "timestamp": int(time.time()), "done": step == MAX_T,
        "trial_id": trial.trial_id, "date": "2026-01-01_00-00-00", "hostname": "bench", "node_ip": "127.0.0.1",
        "pid": 1234, "config": trial.config, "checkpoint_dir_name": f"checkpoint_{step:06d}",
    }


def ingest(url: str, *, trials: int = 1000, results: int = MAX_T, seed: int = 0, sweep: str = SWEEP) -> float:
    """Push ``trials`` x ``results`` through StoreCallback into ``url`` as sweep ``sweep``; return seconds.

    Another ``sweep`` name (and ``seed``) adds a second sweep to the same store; trial ids repeat across
    sweeps (``bench_00000``...), as they are unique per sweep only.
    """
    from ray.tune.experiment import Trial

    from hpo.results import Store, StoreCallback

    rng = random.Random(seed)
    store = Store.open(url)
    spec_yaml = SPEC_YAML.replace(f"name: {SWEEP}\n", f"name: {sweep}\n", 1)
    store.start_sweep(name=sweep, spec_yaml=spec_yaml, spec_hash="bench", metric=METRIC, mode="min",
                      experiment_path="/bench/ray" if sweep == SWEEP else f"/bench/{sweep}/ray", max_t=MAX_T)
    fakes = [Trial("bench", stub=True, config=_config(rng), trial_id=f"bench_{i:05d}") for i in range(trials)]
    quality = {t.trial_id: rng.random() for t in fakes}
    start = time.perf_counter()
    callback = StoreCallback(store, sweep=sweep, metric=METRIC, mode="min", max_t=MAX_T)
    callback.setup()
    loop = 0
    for first in range(0, trials, CONCURRENT):
        batch = fakes[first:first + CONCURRENT]
        for trial in batch:
            callback.on_trial_start(loop, fakes, trial)
        for step in range(1, results + 1):
            for trial in batch:
                callback.on_trial_result(loop, fakes, trial, _result(trial, step, quality[trial.trial_id]))
            loop += 1
            callback.on_step_end(loop, fakes)
        for n, trial in enumerate(batch):
            if (first + n) % 97 == 96:
                callback.on_trial_error(loop, fakes, trial)
            else:
                callback.on_trial_complete(loop, fakes, trial)
    callback.on_experiment_end(fakes)
    seconds = time.perf_counter() - start
    store.finish_sweep(sweep, "finished")
    store.close()
    return seconds


def raw_floor(path: Path, *, rows: int) -> float:
    """The same number of result rows with plain sqlite3 (one transaction): the floor."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE r (trial INTEGER, iteration INTEGER, t REAL, v REAL, metrics TEXT, "
                 "recorded REAL, UNIQUE (trial, iteration))")
    start = time.perf_counter()
    payload = [(i // MAX_T, i % MAX_T, 0.8, 0.5, json.dumps({"val_loss": 0.5, "val_acc": 0.8, "i": i}),
                time.time()) for i in range(rows)]
    with conn:
        conn.executemany("INSERT INTO r VALUES (?, ?, ?, ?, ?, ?)", payload)
    seconds = time.perf_counter() - start
    conn.close()
    return seconds


def trials_cli(url: str) -> tuple[float, float]:
    """``hpo trials bench-store``: seconds in-process (CliRunner) and as a fresh Python process."""
    from click.testing import CliRunner

    from hpo.search.cli.store import trials_command

    start = time.perf_counter()
    result = CliRunner().invoke(trials_command, [SWEEP, "--store", url], env={"COLUMNS": "160"})
    in_process = time.perf_counter() - start
    if result.exit_code != 0:
        raise SystemExit(f"hpo trials failed: {result.output}")
    code = ("from hpo.search.cli.store import trials_command; "
            f"trials_command([{SWEEP!r}, '--store', {url!r}, '--top', '1000'])")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    fresh = time.perf_counter() - start
    return in_process, fresh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--results", type=int, default=MAX_T)
    parser.add_argument("--keep", type=Path, default=None, help="Write the store here and keep it.")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="hpo-bench-store-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "store.sqlite"
    for leftover in folder.glob("store.sqlite*"):
        leftover.unlink()
    url = f"sqlite:///{db}"
    rows = args.trials * args.results

    seconds = ingest(url, trials=args.trials, results=args.results)
    floor = raw_floor(folder / "floor.sqlite", rows=rows)
    in_process, fresh = trials_cli(url)

    print(f"store ingest: {args.trials} trials x {args.results} results = {rows} results through StoreCallback "
          f"into SQLite (WAL)")
    print(f"  callback path : {seconds:6.2f} s  ({rows / seconds:,.0f} results/s)   target < {TARGET_S:.0f} s: "
          f"{'OK' if seconds < TARGET_S else 'MISSED'}")
    print(f"  baseline      : {floor:6.2f} s  ({rows / floor:,.0f} rows/s)  plain sqlite3.executemany, "
          "one transaction (the floor)")
    print(f"  ratio         : {seconds / floor:6.1f}x the floor; {seconds / TARGET_S:.2f}x the target")
    print(f"hpo trials {SWEEP}: {in_process:.2f} s in-process (CliRunner), {fresh:.2f} s as a fresh process")
    print(f"store: {db} ({db.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
