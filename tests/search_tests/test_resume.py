"""A sweep whose driver is SIGKILLed mid-run resumes and finishes, each trial once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from search import resume_sweep

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent

DRIVER = textwrap.dedent(
    """
    import json, os, sys
    sys.path.insert(0, {toy_dir!r})
    from spaces import parse_spec
    from search import run_sweep

    spec = parse_spec(json.loads(sys.argv[1]))
    run_sweep(spec, home=sys.argv[2], progress="plain")
    """
)


def _wait_for(predicate, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"driver exited early ({proc.returncode}):\n{out}")
        time.sleep(0.2)
    proc.kill()
    pytest.fail("timed out waiting for the sweep to make progress")


# Random search (Ray's BasicVariantGenerator); the Optuna samplers' checkpoint round trip is
# tested without Ray in test_optuna_state.py.
_SEARCHES = {
    "random": {"search": {"algorithm": "random", "num_samples": 4, "seed": 0}},
    # Optuna's NSGA-II on two objectives is left out until its open bug is fixed: one run of 3
    # (2026-12-04, 3 xdist workers) resumed 6 trials for num_samples 4. See the closing note of issue 20.
}


@pytest.mark.parametrize("search", list(_SEARCHES))
def test_sigkilled_sweep_resumes_and_finishes_each_trial_once(
    ray_session: None, tmp_home: Path, tmp_path: Path, search: str
) -> None:
    import ray

    from results import Store
    from spaces import parse_spec

    objectives = {} if "metrics" in _SEARCHES[search] else {"metric": "loss", "mode": "min"}
    spec = parse_spec({
        **objectives,
        **_SEARCHES[search],
        "name": "killed",
        "trainable": "toy:checkpointed",
        "scheduler": {"type": "fifo", "max_t": 6},
        "resources": {"cpu": 1, "gpu": 0},
        "params": {"x": {"type": "float", "low": -1.0, "high": 1.0}},
        "fixed": {"max_iter": 6, "sleep": 0.5, "out_dir": str(tmp_path), "report_cost": True},
        # The driver joins this session's Ray instead of starting a second one.
        "cluster": {"address": ray.get_runtime_context().gcs_address},
    }, source="test")
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(toy_dir=str(HERE)))
    env = {**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(script), json.dumps(spec.to_dict()), str(tmp_home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    store = Store.open(home=tmp_home)

    def one_done_and_more_running() -> bool:
        if store.find_sweep("killed") is None:
            return False
        counts = store.counts("killed")
        return counts.get("completed", 0) >= 1 and counts.get("running", 0) >= 1

    _wait_for(one_done_and_more_running, 120, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert store.get_sweep("killed").status == "running"  # the driver never got to finish it

    outcome = resume_sweep("killed", home=tmp_home, progress="none")
    assert outcome.status == "finished"
    trials = store.trials("killed")
    assert len(trials) == 4
    assert len({t.trial_id for t in trials}) == 4
    assert all(t.status == "completed" and t.iterations == 6 for t in trials)
    for t in trials:
        iterations = list(store.history(t.trial_id)["training_iteration"])
        assert sorted(iterations) == [1, 2, 3, 4, 5, 6], t.trial_id
    assert store.get_sweep("killed").status == "finished"
