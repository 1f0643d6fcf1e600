"""GPU packing through ``hpo sweep``: total images/s of 1 trial at ``gpu: 1``, 2 at 0.5 and 4 at 0.25.

Each layout is its own sweep of identical resnet_small trials (the shipped CIFAR-10 specs'
warm-start point, bf16 + channels_last, batch 512) on the synthetic set, all trials at once.
Two figures per layout, both read back from the store:

* sum of the trials' own ``images_per_s`` (training passes only; median over epochs 2..N),
  with ``overlap``: the share of the sweep's span in which every trial was training;
* wall-clock images/s: every image trained / the span from the first epoch's start to the last
  result (evaluation, checkpoints and staggered start-up included).

The baseline is the 1 x ``gpu: 1`` sweep of the same run.

    python -m bench.gpu.packing --out DIR --json DIR/steps/packing.json
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
from pathlib import Path
from typing import Any

from bench.gpu.step_cli import log_to_stderr, step_parser
from bench.gpu.sweeps import TrialRun, drop_checkpoints, hpo_sweep, last_error, read_trials, synthetic_train_images

__all__ = ["LAYOUTS", "packing_figures", "packing_spec"]

logger = logging.getLogger(__name__)

LAYOUTS = ((1, 1.0), (2, 0.5), (4, 0.25))  # (trials, gpu per trial); the first is the baseline
EPOCHS = 12  # epochs of ~9,000 images: enough that staggered trial start-ups overlap
SWEEP_TIMEOUT_S = 150
FIXED: dict[str, Any] = {"dataset": "synthetic", "model": "resnet_small", "width": 64, "depth": 2,
                         "batch_size": 512, "precision": "bf16", "channels_last": True, "schedule": "onecycle",
                         "augment": True, "epochs": EPOCHS}


def packing_spec(trials: int, gpu: float) -> dict[str, Any]:
    """The sweep of ``trials`` identical trials at ``gpu`` GPUs each, all at once."""
    return {
        "name": f"packing-{trials}x{gpu:g}", "trainable": "cifar", "metric": "val_loss", "mode": "min",
        "search": {"algorithm": "random", "num_samples": trials, "max_concurrent": trials, "seed": 0},
        "scheduler": {"type": "fifo", "max_t": EPOCHS},
        # One CPU: a GPU trial's CPU work is launching kernels, and 4 trials fit any machine with a GPU.
        "resources": {"cpu": 1, "gpu": gpu},
        "failures": {"max_retries": 0, "on_oom": "fail"},
        "params": {"lr": {"type": "choice", "values": [0.2]}},
        "fixed": dict(FIXED),
    }


def packing_figures(runs: list[TrialRun], *, trials: int, gpu: float, images_per_epoch: int) -> dict[str, Any]:
    """The figures of one layout from its trials' histories (see the module docstring)."""
    figures: dict[str, Any] = {"trials": trials, "gpu": gpu, "completed": sum(r.status == "completed" for r in runs),
                               "per_trial_images_per_s": [], "epochs": [len(r.results) for r in runs]}
    starts, ends, images, peaks = [], [], 0, []
    for run in runs:
        if not run.results:
            continue
        steady = [r["images_per_s"] for r in run.results if r["epoch"] >= 2] or [run.results[0]["images_per_s"]]
        figures["per_trial_images_per_s"].append(statistics.median(steady))
        first, last = run.results[0], run.results[-1]
        starts.append(first["recorded"] - first["epoch_time_s"])
        ends.append(last["recorded"])
        images += images_per_epoch * len(run.results)
        peaks += [r["gpu_mem_peak_mb"] for r in run.results if r.get("gpu_mem_peak_mb") is not None]
    if starts:
        span = max(ends) - min(starts)
        figures["sum_images_per_s"] = sum(figures["per_trial_images_per_s"])
        figures["span_s"] = span
        figures["wall_images_per_s"] = images / span if span > 0 else None
        figures["overlap"] = max(0.0, min(ends) - max(starts)) / span if span > 0 else 0.0
        figures["gpu_mem_peak_mb"] = max(peaks) if peaks else None
    return figures


def _write(path: Path, figures: dict[str, Any], errors: list[str], *, done: bool) -> None:
    status = "failed" if errors else ("ok" if done else "running")
    path.write_text(json.dumps({"status": status, "figures": figures, "error": "; ".join(errors) or None},
                               indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = step_parser(__doc__)
    args = parser.parse_args(argv)
    log_to_stderr()
    home = args.out / "hpo-home"
    images = synthetic_train_images()
    figures: dict[str, Any] = {"fixed": FIXED, "images_per_epoch": images, "runs": []}
    errors: list[str] = []
    for trials, gpu in LAYOUTS:
        spec = packing_spec(trials, gpu)
        try:
            rc = hpo_sweep(spec, home=home, timeout_s=SWEEP_TIMEOUT_S)
            runs = read_trials(home, spec["name"])
        except Exception as exc:  # a timed-out or refused sweep: record it, measure the next layout
            logger.exception("%s failed", spec["name"])
            errors.append(f"{spec['name']}: {type(exc).__name__}: {exc}"[:300])
            _write(args.json, figures, errors, done=False)
            continue
        drop_checkpoints(home, spec["name"])
        found = packing_figures(runs, trials=trials, gpu=gpu, images_per_epoch=images)
        found["exit"] = rc
        figures["runs"].append(found)
        logger.info("%s", found)
        if rc != 0 or found["completed"] != trials:
            ended = "timed out" if rc is None else f"exit {rc}"
            errors.append(f"{spec['name']}: {ended}, {found['completed']}/{trials} trials completed"
                          f"{last_error(runs)}")
        _write(args.json, figures, errors, done=False)
    _write(args.json, figures, errors, done=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
