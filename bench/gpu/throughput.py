"""images/s of the built-in models on the in-memory synthetic set, at the batch sizes the shipped specs use.

Each measurement is the cifar trainable's own loop (`trainables.training.Trainer`, augmentation on,
the whole set on the GPU): warm-up epochs, then the best ``images_per_s`` of the timed epochs.
An epoch is a whole number of batches (no short last batch: one shape for torch.compile).

* default: every (model, batch) in fp32 (baseline) and in bf16 + channels_last, one process;
* ``--compile``: resnet_small at batch 512 in bf16 + channels_last, eager (baseline) against
  torch.compile; through the trainable's ``compile`` key when it has one, else by handing the
  Trainer a ``torch.compile``-d model (the trainable has no such option today).

    python -m bench.gpu.throughput --out DIR --json DIR/steps/throughput.json [--compile]
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from bench.gpu.run import ROOT
from bench.gpu.step_cli import log_to_stderr, step_parser

__all__ = [
    "MODEL_KWARGS",
    "compile_offered",
    "measure",
    "measurement_config",
    "shipped_batch_sizes",
    "timed_subset",
]

logger = logging.getLogger(__name__)

BUILT_IN = ("tutorial_cnn", "resnet_small")
# resnet_small as the shipped CIFAR-10 specs' warm-start point (width 64, depth 2); tutorial_cnn as shipped.
MODEL_KWARGS: dict[str, dict[str, Any]] = {"tutorial_cnn": {}, "resnet_small": {"width": 64, "depth": 2}}
VARIANTS: dict[str, dict[str, Any]] = {
    "fp32": {"precision": "fp32", "channels_last": False},  # the baseline
    "bf16_cl": {"precision": "bf16", "channels_last": True},
}
TARGET_IMAGES = 8192  # images per timed epoch, fewer for tiny batches (MAX_STEPS keeps those short)
MIN_STEPS, MAX_STEPS = 8, 200
VAL_FRACTION = 0.01  # the smallest allowed: evaluation is not timed, so keep it short
WARMUP, TIMED = 1, 2  # epochs; compiled models get one more warm-up epoch (recompiles settle)
COMPILE_MODEL, COMPILE_BATCH = "resnet_small", 512


def shipped_batch_sizes(config_dir: Path = ROOT / "configs") -> dict[str, list[int]]:
    """The batch sizes each built-in model runs at in the shipped specs (``configs/*.yaml``)."""
    from hpo.trainables.config import DEFAULTS

    found: dict[str, set[int]] = {}
    for path in sorted(config_dir.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text()) or {}
        fixed, params = spec.get("fixed") or {}, spec.get("params") or {}
        models = _values(params.get("model", fixed.get("model", DEFAULTS["model"])))
        batches = _values(params.get("batch_size", fixed.get("batch_size", DEFAULTS["batch_size"])))
        for model in models:
            if model in BUILT_IN:
                found.setdefault(model, set()).update(int(b) for b in batches)
    return {model: sorted(sizes) for model, sizes in sorted(found.items())}


def _values(node: Any) -> list[Any]:
    """A constant, or the values of a choice / grid param (ranges are not shipped for these keys)."""
    if isinstance(node, dict):
        if node.get("type") in ("choice", "grid"):
            return list(node.get("values", []))
        logger.warning("skipping a %s param: only choice/grid values are measured", node.get("type"))
        return []
    return [node]


def timed_subset(batch: int, *, val_fraction: float = VAL_FRACTION) -> tuple[int, int]:
    """``(subset, train images)`` such that the train split is a whole number of batches.

    ``trainables.data.split_train_val`` holds out ``max(1, round(val_fraction * subset))``.

    Raises:
        ValueError: not one batch fits in the synthetic set.
    """
    from hpo.trainables.data import SYNTHETIC_TRAIN

    most = math.floor(SYNTHETIC_TRAIN * (1 - val_fraction)) - 1  # train images the set can always give
    steps = min(MAX_STEPS, max(MIN_STEPS, TARGET_IMAGES // batch), most // batch)
    if steps < 1:
        raise ValueError(f"batch {batch} is larger than the {most} train images the synthetic set gives")
    n_train = batch * steps
    subset = n_train + 1
    while subset - max(1, math.floor(val_fraction * subset + 0.5)) < n_train:
        subset += 1
    return subset, n_train


def measurement_config(model: str, batch: int, variant: str) -> dict[str, Any]:
    """The trial config of one measurement (keys of the cifar trainable)."""
    subset, _ = timed_subset(batch)
    return {"dataset": "synthetic", "subset": subset, "val_fraction": VAL_FRACTION, "model": model,
            **MODEL_KWARGS[model], "batch_size": batch, "epochs": WARMUP + TIMED + 1, "seed": 0,
            **VARIANTS[variant]}


def compile_offered() -> bool:
    """Whether the cifar trainable has a ``compile`` config key (it has none as of this check's writing)."""
    from hpo.trainables.config import DEFAULTS

    return "compile" in DEFAULTS


def measure(config: dict[str, Any], data: Any, *, device: str, warmup: int = WARMUP, timed: int = TIMED,
            compiled: bool = False) -> tuple[float, float]:
    """Best images/s over ``timed`` epochs after ``warmup`` epochs, and the warm-up's seconds.

    Args:
        config: A trial config (`measurement_config`).
        data: The data set (`trainables.data.DataSet`).
        device: ``cuda`` (``cpu`` in tests).
        warmup: Untimed epochs first (cuDNN set-up; compilation).
        timed: Epochs timed; the best is kept.
        compiled: torch.compile the model: the trainable's ``compile`` key when offered, else a
            compiled model handed to the Trainer.
    """
    import torch

    from hpo.trainables.models import build_model
    from hpo.trainables.training import Trainer

    model = None
    if compiled and compile_offered():
        config = {**config, "compile": True}
    elif compiled:
        keys = {k: config[k] for k in ("width", "depth") if k in config}
        model = torch.compile(build_model(config["model"], num_classes=data.num_classes, **keys))
    trainer = Trainer(config, data, device=device, model=model)
    start = time.perf_counter()
    for _ in range(warmup):
        trainer.train_epoch()
    warm_s = time.perf_counter() - start
    best = max(trainer.train_epoch()["images_per_s"] for _ in range(timed))
    return best, warm_s


def _write(path: Path, figures: dict[str, Any], *, status: str, error: str | None = None) -> None:
    path.write_text(json.dumps({"status": status, "figures": figures, "error": error}, indent=1) + "\n")


def run_eager(path: Path, data: Any) -> int:
    """fp32 against bf16 + channels_last for every shipped (model, batch); JSON rewritten after each."""
    sizes = shipped_batch_sizes()
    figures: dict[str, Any] = {"batch_sizes": sizes, "model_kwargs": MODEL_KWARGS, "rows": [],
                               "compile_offered": compile_offered()}
    errors = []
    for model, batches in sizes.items():
        for batch in batches:
            row: dict[str, Any] = {"model": model, "batch": batch, "images": timed_subset(batch)[1]}
            for variant in VARIANTS:
                try:
                    row[variant], _ = measure(measurement_config(model, batch, variant), data, device="cuda")
                except Exception as exc:  # one failed measurement must not lose the others
                    logger.exception("%s batch %d %s failed", model, batch, variant)
                    errors.append(f"{model} batch {batch} {variant}: {type(exc).__name__}: {exc}"[:300])
            logger.info("%s", row)
            figures["rows"].append(row)
            _write(path, figures, status="running")
    _write(path, figures, status="failed" if errors else "ok", error="; ".join(errors) or None)
    return 0


def run_compile(path: Path, data: Any) -> int:
    """Eager bf16 + channels_last (baseline) against torch.compile, resnet_small at batch 512."""
    config = measurement_config(COMPILE_MODEL, COMPILE_BATCH, "bf16_cl")
    figures: dict[str, Any] = {"model": COMPILE_MODEL, "batch": COMPILE_BATCH, "offered": compile_offered()}
    figures["eager"], _ = measure(config, data, device="cuda")
    _write(path, figures, status="running")
    figures["compiled"], figures["first_epoch_s"] = measure(config, data, device="cuda", warmup=WARMUP + 1,
                                                            compiled=True)
    _write(path, figures, status="ok")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = step_parser(__doc__)
    parser.add_argument("--compile", action="store_true", help="torch.compile against eager instead")
    args = parser.parse_args(argv)
    log_to_stderr()
    from hpo.trainables.data import load_dataset

    data = load_dataset("synthetic")
    return (run_compile if args.compile else run_eager)(args.json, data)


if __name__ == "__main__":
    sys.exit(main())
