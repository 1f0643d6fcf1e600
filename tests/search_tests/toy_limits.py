"""A function trainable of which one trial hangs: the per-trial time limits' end-to-end tests.

The first trial to start claims the hang (``<out_dir>/hang.claim`` holds its id, so the choice
survives a retry, and a PBT exploit copies no hang into another trial). That trial reports each
iteration with a checkpoint, and after its reports of iterations 2 and 4 (its second report, and
again on the retry that goes on from the checkpoint at 2) it starts a child process (a DataLoader
worker's stand-in), writes its own pid and the child's to ``<out_dir>/pids-<trial id>-<iteration>.txt``
and blocks forever. Every other trial runs to ``max_iter``. ``loss = 1/t``, plus ``penalty`` for the
trials that do not hang. With PBT, 2 and 4 are not perturbation points when the interval is 3: PBT
pauses a trial only at those, and a paused trial's report never returns to hang.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ray import tune

from hpo.trainables import declare

_HANG_AT = (2, 4)


def _claims_hang(out: Path, trial_id: str) -> bool:
    claim = out / "hang.claim"
    try:
        fd = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return claim.read_text() == trial_id
    with os.fdopen(fd, "w") as handle:
        handle.write(trial_id)
    return True


@declare(checkpoints=True)  # PBT asks for it
def hangs_after_two(config: dict[str, Any]) -> None:
    out = Path(config["out_dir"])
    trial_id = tune.get_context().get_trial_id()
    hangs = _claims_hang(out, trial_id)
    start = 0
    if (ckpt := tune.get_checkpoint()) is not None:
        with ckpt.as_directory() as d:
            start = int(Path(d, "t").read_text())
    for t in range(start + 1, int(config["max_iter"]) + 1):
        with tempfile.TemporaryDirectory() as d:
            Path(d, "t").write_text(str(t))
            loss = 1.0 / t + (0.0 if hangs else float(config.get("penalty", 0.0)))
            tune.report({"loss": loss}, checkpoint=tune.Checkpoint.from_directory(d))
        if hangs and t in _HANG_AT:
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
            (out / f"pids-{trial_id}-{t}.txt").write_text(f"{os.getpid()} {child.pid}")
            while True:
                time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:  # a zombie (ended, not yet reaped by its parent) holds no memory: it counts as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def hung_runs(out_dir: Path, *, wait_s: float = 30.0) -> tuple[list[str], list[int]]:
    """The pid files the hanging trial wrote (one per run, named for the iteration it hung at), and the
    pids in them still alive once the processes had ``wait_s`` seconds to go."""
    files = sorted(out_dir.glob("pids-*.txt"))
    pids = [int(p) for f in files for p in f.read_text().split()]
    deadline = time.monotonic() + wait_s
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [f.name for f in files], [p for p in pids if _alive(p)]
