"""A real CUDA out-of-memory under ``hpo sweep`` with ``on_oom: halve_batch``, checked in the store.

The synthetic set holds 9,000 training images, too few for a batch that fills a large card, so
the card is made small instead, for real: this process

1. trains one epoch of the trial's config (resnet_small, batch `BATCH`) on the whole card and
   notes the memory it reserved at its peak, and what a CUDA process costs besides (context,
   kernels), measured after freeing everything else;
2. holds all of the card's memory but ``context + HEADROOM_SHARE * peak`` (a plain tensor), so
   the batch cannot fit while half of it can;
3. runs the one-trial sweep through ``hpo sweep`` and, once it ends, reads the trial back: it
   must have completed, every epoch once in the store, at a micro-batch halved from `BATCH` at
   least once, the (effective) ``batch_size`` unchanged.

    python -m bench.gpu.oom --out DIR --json DIR/steps/oom.json
"""

from __future__ import annotations

import gc
import json
import logging
import sys
from typing import Any

from bench.gpu.step_cli import log_to_stderr, step_parser
from bench.gpu.sweeps import TrialRun, drop_checkpoints, hpo_sweep, last_error, read_trials

__all__ = ["BATCH", "HEADROOM_SHARE", "headroom_bytes", "oom_checks", "oom_spec", "trial_figures"]

logger = logging.getLogger(__name__)

BATCH = 8192  # images per step: about 15-20 GB at its peak in bf16, from the shipped batch range x 8
EPOCHS = 3
HEADROOM_SHARE = 0.6  # of the batch's peak left free: the whole batch does not fit, half of it does
SWEEP_TIMEOUT_S = 100
FIXED: dict[str, Any] = {"dataset": "synthetic", "model": "resnet_small", "width": 64, "depth": 2,
                         "batch_size": BATCH, "precision": "bf16", "channels_last": True, "augment": True,
                         "epochs": EPOCHS}
GB = 1e9


def oom_spec() -> dict[str, Any]:
    """The one-trial sweep that runs out of memory in its first epoch."""
    return {
        "name": "oom-halve-batch", "trainable": "cifar", "metric": "val_loss", "mode": "min",
        "search": {"algorithm": "random", "num_samples": 1, "seed": 0},
        "scheduler": {"type": "fifo", "max_t": EPOCHS},
        "resources": {"cpu": 1, "gpu": 1},
        "failures": {"max_retries": 0, "on_oom": "halve_batch"},  # no retry: the trial itself must go on
        "params": {"lr": {"type": "choice", "values": [0.1]}},
        "fixed": dict(FIXED),
    }


def headroom_bytes(*, context: int, peak: int) -> int:
    """Memory to leave free: a process's fixed cost plus `HEADROOM_SHARE` of the batch's peak."""
    return context + int(HEADROOM_SHARE * peak)


def oom_checks(run: TrialRun, *, batch: int, epochs: int) -> dict[str, bool]:
    """What must hold of the trial after its out-of-memory, each by name."""
    rows = run.results
    return {
        "completed": run.status == "completed",
        "each_epoch_once": [r.get("epoch") for r in rows] == list(range(1, epochs + 1))
        and [r.get("iteration") for r in rows] == list(range(1, epochs + 1)),
        "out_of_memory_caught": bool(rows) and all((r.get("oom_halvings") or 0) >= 1 for r in rows),
        "micro_batch_halved": bool(rows) and all(_halved(r, batch) for r in rows),
        "batch_size_kept": bool(rows) and all(r.get("batch_size") == batch for r in rows),
    }


def trial_figures(run: TrialRun, *, batch: int = BATCH, epochs: int = EPOCHS) -> dict[str, Any]:
    """The trial's status, its per-epoch story (epoch, iteration, micro-batch, halvings) and the checks."""
    rows = run.results
    return {"status": run.status, "epochs": [r.get("epoch") for r in rows],
            "iterations": [r.get("iteration") for r in rows],
            "micro_batch": [r.get("micro_batch_size") for r in rows],
            "oom_halvings": [r.get("oom_halvings") for r in rows],
            "checks": oom_checks(run, batch=batch, epochs=epochs)}


def _halved(row: dict[str, Any], batch: int) -> bool:
    halvings = int(row.get("oom_halvings") or 0)
    return halvings >= 1 and row.get("micro_batch_size") == batch >> halvings


def calibrate(data: Any) -> dict[str, int | None]:
    """The batch's reserved peak on the whole card (None: it does not fit even so), and a CUDA
    process's cost besides it (context, loaded kernels)."""
    import torch

    from hpo.trainables.training import Trainer, TrialOutOfMemoryError

    peak: int | None = None
    trainer = Trainer({**FIXED, "epochs": 1}, data, device="cuda")  # on_oom: fail, so an OOM raises
    try:
        trainer.train_epoch()
        peak = torch.cuda.max_memory_reserved()
    except (TrialOutOfMemoryError, torch.cuda.OutOfMemoryError):  # a card smaller than the batch: it runs out alone
        logger.info("batch %d does not fit this card even alone: no memory needs holding", BATCH)
    del trainer
    gc.collect()
    torch.cuda.empty_cache()
    free, total = torch.cuda.mem_get_info()
    return {"peak": peak, "context": total - free - torch.cuda.memory_reserved(), "total": total}


def hold_all_but(keep: int) -> list[Any]:
    """Allocate the card's free memory down to ``keep`` bytes; the tensors hold it while referenced."""
    import torch

    held = []
    for _ in range(64):  # a few tries: each allocation rounds, and the last may fail just short
        free, _ = torch.cuda.mem_get_info()
        want = free - keep
        if want < (64 << 20):
            break
        try:
            held.append(torch.empty(want, dtype=torch.uint8, device="cuda"))
        except torch.cuda.OutOfMemoryError:
            keep += 256 << 20
    return held


def main(argv: list[str] | None = None) -> int:
    parser = step_parser(__doc__)
    args = parser.parse_args(argv)
    log_to_stderr()
    import torch

    from hpo.trainables.data import load_dataset

    found = calibrate(load_dataset("synthetic"))
    figures: dict[str, Any] = {"batch": BATCH, "context_gb": found["context"] / GB, "total_gb": found["total"] / GB,
                               "peak_gb": None, "headroom_gb": None}
    held: list[Any] = []
    if found["peak"] is not None:
        keep = headroom_bytes(context=found["context"], peak=found["peak"])
        figures.update(peak_gb=found["peak"] / GB, headroom_gb=keep / GB)
        held = hold_all_but(keep)
    figures["free_during_gb"] = torch.cuda.mem_get_info()[0] / GB
    logger.info("holding %.1f GB; %s", sum(t.numel() for t in held) / GB, figures)
    spec = oom_spec()
    home = args.out / "hpo-home"
    try:
        figures["exit"] = hpo_sweep(spec, home=home, timeout_s=SWEEP_TIMEOUT_S)  # None: timed out
    finally:
        held.clear()
        torch.cuda.empty_cache()
    try:
        runs = read_trials(home, spec["name"])
    except Exception as exc:  # no sweep in the store: the sweep never started; say why below
        logger.exception("reading the store")
        runs = [TrialRun("-", f"not in the store ({type(exc).__name__}: {exc})"[:200], {}, [])]
    drop_checkpoints(home, spec["name"])
    run = runs[0] if runs else TrialRun("-", "missing", {}, [])
    figures.update(trial_figures(run))
    failed = [name for name, ok in figures["checks"].items() if not ok]
    error = f"failed checks: {', '.join(failed)} (trial {run.status}){last_error([run])}" if failed else None
    args.json.write_text(json.dumps({"status": "failed" if failed else "ok", "figures": figures, "error": error},
                                    indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
