"""A sweep whose driver is SIGKILLed mid-run resumes and finishes, each trial once."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from harness import wait_for

from hpo.search import resume_sweep

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent

DRIVER = textwrap.dedent(
    """
    import json, os, sys
    sys.path.insert(0, {toy_dir!r})
    from hpo.spaces import parse_spec
    from hpo.search import run_sweep

    spec = parse_spec(json.loads(sys.argv[1]))
    run_sweep(spec, home=sys.argv[2], progress="plain")
    """
)


def _searcher_count(experiment: Path) -> int | None:
    """Trials the searcher's saved state says it suggested (SearchGenerator or BasicVariantGenerator)."""
    from hpo.search.ray_compat.tune_state import saved_suggestion_count

    return saved_suggestion_count(experiment)


_SEARCHER_FILES = ("search_gen_state-*", "searcher-state-*", "basic-variant-state-*")


def _snapshot(experiment: Path, patterns: tuple[str, ...], into: Path) -> None:
    """Copy ``patterns`` from ``experiment`` into ``into`` if the copies hold Tune's 2-trial state.

    Tune syncs its files into the storage folder in place, so a copy can catch one mid-write (empty
    or cut short); such a copy is dropped, and ``into`` keeps the last good one.
    """
    import cloudpickle

    from hpo.search.searchers.restored_state import restored_trials

    trying = into.with_name(into.name + ".new")
    shutil.rmtree(trying, ignore_errors=True)
    trying.mkdir()
    for pattern in patterns:
        for path in experiment.glob(pattern):
            shutil.copy2(path, trying / path.name)
    # Every file whole: restored_trials reads Tune's JSON (None when cut short); the searchers' are pickles.
    held = restored_trials(trying)
    try:
        for path in trying.iterdir():
            if not path.name.startswith("experiment_state-"):
                cloudpickle.loads(path.read_bytes())
        count = _searcher_count(trying)
    except Exception:  # a file caught mid-sync
        held = count = None
    if (held is not None and len(held.ids) == 2) or count == 2:
        shutil.rmtree(into, ignore_errors=True)
        trying.rename(into)
    else:
        shutil.rmtree(trying)


# Each case SIGKILLs the driver once Tune's saved state holds 3 of the 4 trials. Tune saves its
# trials and then its searcher, in two files a kill can fall between (issue 20): the "stale"
# cases put back the searcher's (or Tune's) files as they were when Tune held 2 trials, the
# moment the race leaves on disk, so the resume meets it every run, not under load only.
# max_concurrent 2 (the 2 CPUs' slots) makes Tune's state grow a trial at a time, through the 2-trial
# state put back: left to the capacity, the searcher would keep trials waiting (searcher_limit).
_SEARCHES = {
    "random": {"search": {"algorithm": "random", "num_samples": 4, "seed": 0, "max_concurrent": 2}},
    "nsga2": {
        "search": {"algorithm": "optuna", "sampler": "nsga2", "num_samples": 4, "seed": 0, "max_concurrent": 2},
        "metrics": [{"name": "loss", "mode": "min"}, {"name": "cost", "mode": "min"}],
    },
}
_CASES = [("random", "stale-searcher"), ("nsga2", "stale-searcher"), ("nsga2", "stale-tune")]


@pytest.mark.slow
@pytest.mark.parametrize(("search", "stale"), _CASES, ids=[f"{s}-{k}" for s, k in _CASES])
def test_sigkilled_sweep_resumes_and_finishes_each_trial_once(
    ray_session: None, tmp_home: Path, tmp_path: Path, search: str, stale: str
) -> None:
    import ray

    from hpo.results import Store
    from hpo.results.store.callback import LOST_TRIAL_ERROR
    from hpo.search.searchers.restored_state import restored_trials
    from hpo.spaces import parse_spec

    objectives = {} if "metrics" in _SEARCHES[search] else {"metric": "loss", "mode": "min"}
    spec = parse_spec({
        **objectives,
        **_SEARCHES[search],
        "name": "killed",
        "trainable": "toy:checkpointed",
        "scheduler": {"type": "fifo", "max_t": 6},
        "resources": {"cpu": 1, "gpu": 0},
        "params": {"x": {"type": "float", "low": -1.0, "high": 1.0}},
        "fixed": {"max_iter": 6, "sleep": 0.4, "out_dir": str(tmp_path), "report_cost": True},
        # The driver joins this session's Ray instead of starting a second one.
        "cluster": {"address": ray.get_runtime_context().gcs_address},
    }, source="test")
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(toy_dir=str(HERE)))
    env = {**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "0.5"}
    proc = subprocess.Popen(
        [sys.executable, str(script), json.dumps(spec.to_dict()), str(tmp_home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    store = Store.open(home=tmp_home)
    experiment, early = tmp_home / "ray" / "killed", tmp_path / "early"
    files = _SEARCHER_FILES if stale == "stale-searcher" else ("experiment_state-*",)

    def three_trials_saved() -> bool:
        try:
            held = restored_trials(experiment)
            count = _searcher_count(experiment)
        except Exception:  # a file mid-sync: look again
            return False
        if held is None or count is None:
            return False
        if len(held.ids) == 2 and count == 2:  # the latest state with 2 trials, to put back
            _snapshot(experiment, files, early)
        return len(held.ids) >= 3 and early.exists() and store.counts("killed").get("completed", 0) >= 1

    wait_for(three_trials_saved, timeout=120, proc=proc,
             what="3 trials in Tune's saved state, 1 completed, and a state of 2 kept")
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert store.get_sweep("killed").status == "running"  # the driver never got to finish it
    held_at_kill = restored_trials(experiment)
    started_at_kill = {t.trial_id for t in store.trials("killed")}
    for pattern in files:
        for path in experiment.glob(pattern):
            path.unlink()
    for path in early.iterdir():
        shutil.copy2(path, experiment / path.name)
    assert restored_trials(experiment) is not None and _searcher_count(experiment) is not None
    if stale == "stale-searcher":
        assert _searcher_count(experiment) == 2 < len(restored_trials(experiment).ids)
    else:
        assert len(restored_trials(experiment).ids) == 2 < len(held_at_kill.ids)

    outcome = resume_sweep("killed", home=tmp_home, progress="none")
    assert outcome.status == "finished"
    trials = store.trials("killed")
    done = [t for t in trials if t.status == "completed"]
    lost = [t for t in trials if t.status != "completed"]
    assert len(done) == 4 and len({t.trial_id for t in done}) == 4
    assert all(t.iterations == 6 for t in done)
    # Trials the driver started after the Tune state it resumed from are recorded as lost, not left running,
    # and each is replaced by a trial the searcher drew in its place: the sweep counts its 4 trials.
    assert not lost
    replaced = [t for t in store.trials("killed", replaced=True) if t.replaced_by is not None]
    if stale == "stale-tune":
        # Those with a row at the kill; a trial Tune had only queued has none to mark.
        assert {t.trial_id for t in replaced} == started_at_kill - restored_trials(experiment).ids
        assert all(t.status == "error" and t.error == LOST_TRIAL_ERROR for t in replaced)
        assert {t.replaced_by for t in replaced} <= {t.trial_id for t in done}
    else:
        assert not replaced
    for t in done:
        iterations = list(store.history(t.trial_id)["training_iteration"])
        assert sorted(iterations) == [1, 2, 3, 4, 5, 6], t.trial_id
    assert store.get_sweep("killed").status == "finished"


class _Records(logging.Handler):
    """Every record a logger lets through (its level applies first)."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_restart_errored_ends_with_num_samples_trials_a_plain_summary_and_a_note_on_the_changed_spec(
    ray_session: None, tmp_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 41: a resume with --restart-errored ran the errored trials' configs as 4 more trials (8 rows);
    with Optuna and trials of 2 reports it died on the restarted trials' results (KeyError in OptunaSearch);
    Optuna's "A new study created in memory" reached the console; and a YAML fixed since was silently ignored."""
    import optuna
    from click.testing import CliRunner

    from hpo.results import Store
    from hpo.search.cli.main import cli

    monkeypatch.chdir(tmp_path)
    ok = tmp_path / "ok"
    spec = {
        "name": "errs", "trainable": "toy:fails_until", "metric": "loss", "mode": "min",
        "search": {"algorithm": "optuna", "num_samples": 4, "seed": 0},
        "scheduler": {"type": "fifo", "max_t": 2}, "resources": {"cpu": 1, "gpu": 0},
        "params": {"x": {"type": "float", "low": -1.0, "high": 1.0}},
        "fixed": {"max_iter": 2, "ok_file": str(ok)},
        # Every trial runs and errors, and Ray saves them all: fail-fast would end the sweep at once, and
        # which trials Ray's saved state holds would depend on timing (test_resume_rules covers that case).
        "failures": {"fail_fast": False},
    }
    (tmp_path / "errs.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    first = CliRunner().invoke(cli, ["sweep", "errs.yaml", "-q"])
    assert first.exit_code == 1, first.output
    store = Store.open(home=tmp_home)
    errored = {t.trial_id: t.config for t in store.trials("errs", status="error")}
    assert errored

    # The user fixes the trainable's input and the YAML (a wider range): the resume still runs the stored spec.
    ok.touch()
    (tmp_path / "errs.yaml").write_text(yaml.safe_dump({**spec, "params": {"x": {"type": "float", "low": -2.0,
                                                                                 "high": 2.0}}}, sort_keys=False))
    optuna.logging.set_verbosity(optuna.logging.INFO)  # Optuna's default in a fresh `hpo resume` process
    seen = _Records()
    logging.getLogger("optuna").addHandler(seen)
    caplog.set_level(logging.WARNING, logger="hpo")
    try:
        result = CliRunner().invoke(cli, ["resume", "errs", "--restart-errored", "-q"])
    finally:
        logging.getLogger("optuna").removeHandler(seen)
    assert result.exit_code == 0, result.output
    assert [r.getMessage() for r in seen.records] == []
    # The note is a warning of the engine's (a log line: the console shows its message alone).
    assert [r.getMessage() for r in caplog.records if r.name.startswith("hpo")] == [
        "note: errs.yaml changed since sweep errs started; resume runs the spec stored with it "
        "(to run the file, start a new sweep: hpo sweep errs.yaml --name NEW_NAME)"]
    best = store.best("errs")
    assert result.stdout.splitlines()[:2] == [
        "sweep errs finished: 4 trial(s) (completed 4)",
        f"best trial {best.trial_id}: loss={best.last_metric:.6g} at iteration 2",
    ]
    assert store.counts("errs") == {"running": 0, "completed": 4, "stopped_early": 0, "error": 0}
    assert store.get_sweep("errs").num_trials == 4
    # Each errored row stays, marked replaced by the trial that ran its config again.
    shown = {t.trial_id: t for t in store.trials("errs")}
    kept = {t.trial_id: t for t in store.trials("errs", replaced=True) if t.replaced_by is not None}
    assert set(kept) == set(errored) and len(kept) == 4
    for old in kept.values():
        assert old.status == "error" and shown[old.replaced_by].config == old.config
    assert all(-1.0 <= t.config["x"] <= 1.0 for t in shown.values())  # the stored spec's range, not the file's
