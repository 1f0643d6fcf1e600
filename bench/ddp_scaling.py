"""images/s of one cifar trial on 1 worker against 2 workers (DDP), on the same data, one run.

    .venv/bin/python bench/ddp_scaling.py [--epochs 2] [--subset 4000]

Both runs are one-trial sweeps through ``run_sweep`` on one local Ray instance; the figure is
the last epoch's ``images_per_s`` (training time only: process start-up is not in it).
On CPUs both workers share the machine's cores, so the ratio shows gloo's overhead, not a gain.
"""

from __future__ import annotations

import argparse
import tempfile

import ray

from hpo.results import Store
from hpo.search import run_sweep
from hpo.spaces import parse_spec


def _images_per_s(workers: int, *, epochs: int, subset: int, home: str) -> float:
    spec = parse_spec({
        "name": f"ddp-bench-{workers}", "trainable": "cifar", "metric": "val_loss", "mode": "min",
        "search": {"algorithm": "random", "num_samples": 1, "seed": 0},
        "scheduler": {"type": "fifo", "max_t": epochs},
        "resources": {"workers": workers, "cpu": 1},
        "params": {"lr": {"type": "choice", "values": [0.05]}},
        "fixed": {"dataset": "synthetic", "subset": subset, "batch_size": 128},
    })
    run_sweep(spec, home=home, progress="none")
    best = Store.open(home=home).best(spec.name)
    if best is None:
        raise SystemExit(f"{spec.name}: no result")
    return float(best.last_result["images_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--subset", type=int, default=4000)
    args = parser.parse_args()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with tempfile.TemporaryDirectory() as home:
            one = _images_per_s(1, epochs=args.epochs, subset=args.subset, home=home)
            two = _images_per_s(2, epochs=args.epochs, subset=args.subset, home=home)
    finally:
        ray.shutdown()
    print(f"1 worker (baseline): {one:,.0f} images/s")
    print(f"2 workers (DDP, gloo): {two:,.0f} images/s")
    print(f"ratio 2 workers / 1 worker: {two / one:.2f}x")


if __name__ == "__main__":
    main()
