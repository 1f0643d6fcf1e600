"""Sweep overhead: 40 trivial trials x 10 reports through run_sweep vs. the seeds' plain tune.run.

Both run in this one process on one local Ray instance (2 CPUs, 1-CPU trials, ASHA), after an
untimed warm-up, so the ratio compares like with like. Target: run_sweep <= 0.25x the baseline.

    .venv/bin/python bench/overhead.py
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

NUM_TRIALS = 40
REPORTS = 10


def trivial(config: dict) -> None:
    from ray import tune

    for i in range(1, REPORTS + 1):
        tune.report({"loss": (config["x"] - 0.5) ** 2 + 1.0 / i})


def baseline(storage: str) -> float:
    """The seeds' plain call: tune.run with ASHA and 1 CPU per trial (Ray defaults otherwise)."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    start = time.perf_counter()
    tune.run(
        trivial,
        config={"x": tune.uniform(0.0, 1.0)},
        num_samples=NUM_TRIALS,
        scheduler=ASHAScheduler(metric="loss", mode="min", max_t=REPORTS, grace_period=1),
        resources_per_trial={"cpu": 1},
        storage_path=storage,
        verbose=1,
    )
    return time.perf_counter() - start


def ours(home: str, name: str, num_samples: int = NUM_TRIALS) -> float:
    from hpo.search import run_sweep
    from hpo.spaces import parse_spec

    spec = parse_spec(
        {
            "name": name,
            "trainable": "bench.overhead:trivial",
            "metric": "loss",
            "mode": "min",
            "search": {"algorithm": "random", "num_samples": num_samples, "seed": 0},
            "scheduler": {"type": "asha", "max_t": REPORTS, "grace_period": 1, "reduction_factor": 2},
            "resources": {"cpu": 1, "gpu": 0},
            "params": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        }
    )
    start = time.perf_counter()
    outcome = run_sweep(spec, trainable=trivial, home=home, progress="none")
    elapsed = time.perf_counter() - start
    if sum(outcome.counts.values()) != num_samples:
        raise SystemExit(f"run_sweep ran {outcome.counts}, expected {num_samples} trials")
    return elapsed


def main() -> None:
    import ray

    from hpo.search.engine.progress import quiet_ray_logging

    quiet_ray_logging()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    with tempfile.TemporaryDirectory() as tmp:
        ours(str(Path(tmp, "warm")), "warmup", num_samples=4)  # untimed: worker pool, imports
        base = baseline(str(Path(tmp, "baseline")))
        figure = ours(str(Path(tmp, "ours")), "overhead")
    ray.shutdown()
    print()
    py = sys.version.split()[0]
    print(f"machine: {platform.machine()} {os.cpu_count()} CPU(s), Python {py}, ray {ray.__version__}")
    print(f"baseline tune.run (seeds' call): {base:.2f} s for {NUM_TRIALS} trials x {REPORTS} reports")
    print(f"run_sweep:                       {figure:.2f} s")
    print(f"ratio run_sweep / baseline:      {figure / base:.3f}  (target <= 0.25)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
