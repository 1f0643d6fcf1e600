"""A command sweep whose driver is SIGKILLed mid-run: `hpo resume` finishes it, each trial's script starting
again from its last checkpoint, no result stored twice, and no script left running (checked by pid)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from harness import ROOT, pid_gone, run_hpo, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=60)]

DRIVER = textwrap.dedent(
    """
    import sys
    from hpo.spaces import load_spec
    from hpo.search import run_sweep

    run_sweep(load_spec(sys.argv[1]), home=sys.argv[2], progress="plain")
    """
)

# Unchanged by hpo: argparse flags; its state in $HPO_CHECKPOINT_DIR (write, then rename) before each report.
# Each start is noted (pid, the step it starts from, the checkpoint's files) in --out/starts.jsonl.
SCRIPT = textwrap.dedent(
    """
    import argparse, json, os, time
    from pathlib import Path

    parser = argparse.ArgumentParser()
    for flag, kind in (("--x", float), ("--steps", int), ("--sleep", float), ("--out", str)):
        parser.add_argument(flag, type=kind, required=True)
    args = parser.parse_args()
    ckpt = Path(os.environ["HPO_CHECKPOINT_DIR"])
    state = ckpt / "state.json"
    step = json.loads(state.read_text())["step"] if state.is_file() else 0
    with open(Path(args.out) / "starts.jsonl", "a") as notes:
        notes.write(json.dumps({"trial": os.environ["HPO_TRIAL_ID"], "pid": os.getpid(), "step": step,
                                "files": sorted(os.listdir(ckpt))}) + "\\n")
    while step < args.steps:
        time.sleep(args.sleep)
        step += 1
        (ckpt / "state.tmp").write_text(json.dumps({"step": step}))
        (ckpt / "state.tmp").replace(state)
        print("hpo-report: " + json.dumps({"loss": args.x + 1 / step, "step": step}), flush=True)
    """
)

STEPS = 6


def _starts(out: Path) -> list[dict[str, object]]:
    path = out / "starts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pids are checked in /proc (Linux)")
def test_sigkilled_command_sweep_resumes_from_checkpoints_and_leaves_no_script(
        ray_session: None, tmp_home: Path, tmp_path: Path) -> None:
    import ray

    from hpo.results import Store
    from hpo.search.ray_compat.tune_state import experiment_state_files, read_saved_trials

    project, out = tmp_path / "project", tmp_path / "out"
    project.mkdir()
    out.mkdir()
    (project / "train.py").write_text(SCRIPT)
    spec_path = project / "spec.yaml"
    spec_path.write_text(yaml.safe_dump({
        "name": "killed-cmd",
        # Relative: the resume, run from another folder, finds train.py beside the spec it recorded.
        "trainable": {"command": "python train.py", "stop_grace": "2s"},
        "metric": "loss", "mode": "min",
        "search": {"algorithm": "random", "num_samples": 2, "seed": 0, "max_concurrent": 2},
        "scheduler": {"type": "fifo", "max_t": STEPS},
        "resources": {"cpu": 1, "gpu": 0},
        "params": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "fixed": {"steps": STEPS, "sleep": 0.4, "out": str(out)},
        # The driver joins this session's Ray instead of starting a second one.
        "cluster": {"address": ray.get_runtime_context().gcs_address},
    }))
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    env = {**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "0.5"}
    proc = subprocess.Popen([sys.executable, str(driver), str(spec_path), str(tmp_home)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    experiment = tmp_home / "ray" / "killed-cmd"

    def both_saved_past_two() -> bool:
        """Tune's saved state holds both trials at iteration 2 or more (each result with its checkpoint)."""
        files = experiment_state_files(experiment) if experiment.is_dir() else []
        try:
            saved = read_saved_trials(files[-1]) if files else []
        except (OSError, ValueError, KeyError, TypeError):  # a file mid-write: look again
            return False
        return len(saved) == 2 and all(t.last_result.get("training_iteration", 0) >= 2 for t in saved)

    try:
        wait_for(both_saved_past_two, timeout=180, proc=proc, what="both trials saved by Tune at iteration 2+")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    store = Store.open(home=tmp_home)
    assert store.get_sweep("killed-cmd").status == "running"  # the driver never got to finish it
    before = _starts(out)
    assert len(before) == 2 and all(s["step"] == 0 and s["files"] == [] for s in before), before

    resumed = run_hpo("resume", "killed-cmd", "-q", env={**env, "HPO_HOME": str(tmp_home)}, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr

    assert store.get_sweep("killed-cmd").status == "finished"
    trials = store.trials("killed-cmd")
    assert len(trials) == 2 and all(t.status == "completed" for t in trials), trials
    starts = _starts(out)
    for trial in trials:
        history = store.history(trial.trial_id)
        assert list(history["iteration"]) == list(range(1, STEPS + 1)), trial.trial_id  # each result once
        # The script's own count goes on where its checkpoint left it: iteration i is its step i.
        assert list(history["step"]) == [float(s) for s in range(1, STEPS + 1)], trial.trial_id
        mine = [s for s in starts if s["trial"] == trial.trial_id]
        # Started twice: from scratch, then from the checkpoint Tune restored (not from step 0).
        assert len(mine) == 2 and mine[0]["step"] == 0, mine
        assert mine[1]["files"] == ["state.json"] and 1 <= int(mine[1]["step"]) < STEPS, mine  # type: ignore[call-overload]
    leftovers = [s["pid"] for s in starts if not pid_gone(int(s["pid"]))]  # type: ignore[call-overload]
    assert leftovers == [], f"script processes still running after the resume: {leftovers}"
