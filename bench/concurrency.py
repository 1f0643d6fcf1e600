"""HyperOpt keeps the slots busy: average concurrency of HyperOpt vs. random on 2 slots.

One process, one local Ray (2 CPUs), 1-CPU trials that each report 10 times over ~1 s, FIFO
scheduler (so only the searcher differs). Average concurrency = sum of the trials' own run
times (measured inside each trial) / wall time from the first trial start to the last end.

Rows: random and HyperOpt through run_sweep (HyperOpt in a ConcurrencyLimiter sized to the
slots), and HyperOpt with Ray's defaults (plain HyperOptSearch in a Tuner) for reference.
Target: run_sweep's HyperOpt >= 0.9x random's.

    .venv/bin/python bench/concurrency.py
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NUM_TRIALS = 16
REPORTS = 10
SLEEP_S = 0.1


def timed_trial(config: dict[str, Any]) -> None:
    from ray import tune

    began = time.time()
    for i in range(1, REPORTS + 1):
        time.sleep(SLEEP_S)
        if i == REPORTS:
            # Record the span before the last report: the sweep stops a trial at max_t on that
            # report (as ASHA does), so code after it would not run.
            with open(Path(config["out_dir"], "spans.jsonl"), "a") as f:
                f.write(json.dumps([began, time.time()]) + "\n")
        tune.report({"loss": (config["x"] - 0.5) ** 2 + 1.0 / i})


def _concurrency(out_dir: Path) -> float:
    spans = [json.loads(line) for line in (out_dir / "spans.jsonl").read_text().splitlines()]
    if len(spans) != NUM_TRIALS:
        raise SystemExit(f"{out_dir}: {len(spans)} trials ran, expected {NUM_TRIALS}")
    busy = sum(e - b for b, e in spans)
    wall = max(e for _, e in spans) - min(b for b, _ in spans)
    return busy / wall


def through_run_sweep(algorithm: str, tmp: Path) -> float:
    from hpo.search import run_sweep
    from hpo.spaces import parse_spec

    out = tmp / f"spans-{algorithm}"
    out.mkdir()
    spec = parse_spec(
        {
            "name": f"conc-{algorithm}",
            "trainable": "bench.concurrency:timed_trial",
            "metric": "loss",
            "mode": "min",
            "search": {"algorithm": algorithm, "num_samples": NUM_TRIALS, "seed": 0},
            "scheduler": {"type": "fifo", "max_t": REPORTS},
            "resources": {"cpu": 1, "gpu": 0},
            "params": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
            "fixed": {"out_dir": str(out)},
        }
    )
    run_sweep(spec, trainable=timed_trial, home=str(tmp / "home"), progress="none")
    return _concurrency(out)


def hyperopt_ray_defaults(tmp: Path) -> float:
    """The unfixed setup: HyperOptSearch straight into a Tuner (Ray allows 1 pending trial)."""
    from ray import tune
    from ray.tune.search.hyperopt import HyperOptSearch

    out = tmp / "spans-hyperopt-default"
    out.mkdir()
    tuner = tune.Tuner(
        tune.with_resources(timed_trial, {"cpu": 1}),
        param_space={"x": tune.uniform(0.0, 1.0), "out_dir": str(out)},
        tune_config=tune.TuneConfig(
            metric="loss", mode="min", num_samples=NUM_TRIALS, search_alg=HyperOptSearch(random_state_seed=0)
        ),
        run_config=tune.RunConfig(storage_path=str(tmp / "default"), name="hyperopt-default", verbose=0),
    )
    os.environ["RAY_AIR_NEW_OUTPUT"] = "0"  # no Ray banner; verbose=0 then prints nothing
    try:
        tuner.fit()
    finally:
        os.environ.pop("RAY_AIR_NEW_OUTPUT", None)
    return _concurrency(out)


def main() -> None:
    import ray

    from hpo.search.engine.progress import quiet_ray_logging

    quiet_ray_logging()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        default = hyperopt_ray_defaults(tmp)  # also warms the worker pool up
        random_c = through_run_sweep("random", tmp)
        hyperopt_c = through_run_sweep("hyperopt", tmp)
    ray.shutdown()
    print()
    py = sys.version.split()[0]
    print(f"machine: {platform.machine()} {os.cpu_count()} CPU(s), Python {py}, ray {ray.__version__}")
    print(f"{NUM_TRIALS} trials x {REPORTS} reports x {SLEEP_S}s, 1 CPU each, 2 slots, FIFO")
    print(f"HyperOpt, Ray defaults (no limiter):   {default:.2f} average concurrent trials")
    print(f"random (baseline), run_sweep:          {random_c:.2f}")
    print(f"HyperOpt, run_sweep (ConcurrencyLimiter): {hyperopt_c:.2f}")
    print(f"ratio HyperOpt / random:               {hyperopt_c / random_c:.3f}  (target >= 0.9)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
