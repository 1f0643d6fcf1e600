"""Run a sweep through the real ``hpo sweep`` command and read its trials back from the real store.

The spec is written as YAML beside the run home and run as ``hpo sweep SPEC --home HOME -q`` (the
``hpo`` console script's entry point, ``hpo.search.cli.main:main``, under this interpreter, so the check
does not depend on the venv's script shebang). Ray sizes itself from the machine: its logical
GPUs are the real ones.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.gpu.run import run_group

__all__ = ["TrialRun", "drop_checkpoints", "hpo_sweep", "last_error", "read_trials", "synthetic_train_images"]

logger = logging.getLogger(__name__)

HPO = (sys.executable, "-c", "from hpo.search.cli import main; main()")


@dataclass(frozen=True)
class TrialRun:
    """One trial as the store holds it: status, and its results in iteration order (plain dicts)."""

    trial_id: str
    status: str
    config: dict[str, Any]
    results: list[dict[str, Any]]
    error: str | None = None


def hpo_sweep(spec: dict[str, Any], *, home: Path, timeout_s: float) -> int | None:
    """``hpo sweep`` on ``spec`` with ``home`` as the run home, its output in this step's log.

    Returns its exit code, or None when it ran past ``timeout_s``: then it gets SIGINT (the
    CLI's Ctrl-C: the sweep ends interrupted and Ray shuts down), and SIGKILL after a grace period.
    It stays in this step's process group, so stopping the step stops the sweep too.
    """
    home.mkdir(parents=True, exist_ok=True)
    path = home / f"{spec['name']}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    env = {**os.environ, "HPO_HOME": str(home), "HPO_OFFLINE": "1"}
    env.pop("HPO_STORE", None)
    logger.info("$ hpo sweep %s --home %s -q", path, home)
    sys.stdout.flush()  # the sweep writes to the same log: keep the order
    sys.stderr.flush()
    rc = run_group([*HPO, "sweep", str(path), "--home", str(home), "-q"], timeout_s=timeout_s, env=env,
                   first=signal.SIGINT, own_session=False)
    logger.info("hpo sweep %s: %s", spec["name"], "timed out" if rc is None else f"exit {rc}")
    return rc


def read_trials(home: Path, sweep: str) -> list[TrialRun]:
    """Every trial of ``sweep`` in the store under ``home``, with its whole history."""
    from hpo.results import Store

    with Store.open(home=home, create=False) as store:
        runs = []
        for t in store.trials(sweep):
            frame = store.history(t.trial_id, sweep=sweep)
            records = [_plain(r) for r in frame.to_dict("records")]
            runs.append(TrialRun(t.trial_id, t.status, dict(t.config), records, t.error))
    return runs


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """A history row as JSON-ready values: epoch seconds for ``recorded``, None for a metric the row lacks."""
    out = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in record.items()}
    out["recorded"] = out["recorded"].timestamp() if out.get("recorded") is not None else None
    return out


def last_error(runs: list[TrialRun]) -> str:
    """``"; first trial error: <its last line>"``, or ``""`` when no trial errored."""
    for run in runs:
        lines = (run.error or "").strip().splitlines()
        if lines:
            return f"; first trial error: {lines[-1][:200]}"
    return ""


def drop_checkpoints(home: Path, sweep: str) -> None:
    """Delete a read sweep's trial directories (checkpoints: large, and not part of the evidence)."""
    shutil.rmtree(home / "ray" / sweep, ignore_errors=True)


def synthetic_train_images(*, subset: int | None = None, val_fraction: float = 0.1) -> int:
    """Training images per epoch of the synthetic set (the arithmetic of ``split_train_val``)."""
    from hpo.trainables.data import SYNTHETIC_TRAIN

    n = min(subset, SYNTHETIC_TRAIN) if subset else SYNTHETIC_TRAIN
    return n - max(1, math.floor(val_fraction * n + 0.5))
