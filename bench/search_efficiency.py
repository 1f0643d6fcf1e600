"""ASHA + HyperOpt vs. FIFO random search on the cifar trainable (synthetic data), same budget.

For each seed, two sweeps of the ``quickstart`` spec with the same ``num_samples`` and
``max_t``: (a) HyperOpt TPE with ASHA early stopping (the quickstart's own setting), and
(b) random search with FIFO (every trial runs ``max_t`` epochs). Prints, per seed and on
average, the epochs each spent and the best val_acc each found, and the ratios.
Target: ASHA + HyperOpt spends <= 0.4x the epochs, with best val_acc within 1 point.

Run: ``.venv/bin/python bench/search_efficiency.py [--seeds 0 1 2] [--samples 16] [--max-t 8]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def run(kind: str, seed: int, samples: int, max_t: int, home: Path) -> tuple[int, float, float]:
    """One sweep; returns (epochs spent, best val_acc, wall seconds)."""
    from hpo.results import Store
    from hpo.search import run_sweep
    from hpo.spaces import load_spec

    overrides = [
        f"name=eff-{kind}-{seed}",
        f"search.seed={seed}",
        f"search.num_samples={samples}",
        f"scheduler.max_t={max_t}",
        f"fixed.epochs={max_t}",
    ]
    if kind == "fifo":
        overrides += ["search.algorithm=random", "scheduler.type=fifo"]
    spec = load_spec("quickstart", overrides=overrides)
    start = time.perf_counter()
    outcome = run_sweep(spec, home=home)
    wall = time.perf_counter() - start
    trials = Store.open(outcome.store_url).trials(outcome.name)
    epochs = sum(t.iterations or 0 for t in trials)
    best = max((t.best_metric for t in trials if t.best_metric is not None), default=float("nan"))
    return epochs, best, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--samples", type=int, default=16, help="num_samples of both sweeps")
    parser.add_argument("--max-t", type=int, default=8, help="max epochs per trial")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("HPO_OFFLINE", "1")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            asha = run("asha", seed, args.samples, args.max_t, Path(tmp))
            fifo = run("fifo", seed, args.samples, args.max_t, Path(tmp))
            rows.append((seed, asha, fifo))
            print(
                f"seed {seed}: asha+hyperopt {asha[0]} epochs, best val_acc {asha[1]:.4f} ({asha[2]:.0f} s) | "
                f"fifo random {fifo[0]} epochs, best val_acc {fifo[1]:.4f} ({fifo[2]:.0f} s)",
                flush=True,
            )
    n = len(rows)
    asha_epochs = sum(r[1][0] for r in rows) / n
    fifo_epochs = sum(r[2][0] for r in rows) / n
    asha_best = sum(r[1][1] for r in rows) / n
    fifo_best = sum(r[2][1] for r in rows) / n
    print()
    print(f"{n} seeds, num_samples={args.samples}, max_t={args.max_t}, quickstart spec (synthetic, tutorial_cnn)")
    print(
        f"epochs spent:  asha+hyperopt {asha_epochs:.1f}  fifo random {fifo_epochs:.1f}  "
        f"ratio {asha_epochs / fifo_epochs:.2f}x (target <= 0.4x)"
    )
    print(
        f"best val_acc:  asha+hyperopt {asha_best:.4f}  fifo random {fifo_best:.4f}  "
        f"difference {100 * (asha_best - fifo_best):+.2f} points (target >= -1)"
    )


if __name__ == "__main__":
    main()
