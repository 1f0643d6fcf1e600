"""Sweeps SIGKILLed under the OLD layout (top-level ``search``, ``spaces``, ``results``...) resume under ``hpo.*``.

The fixture: ``old_layout/optuna_asha.tar.gz`` (Optuna TPE + ASHA, a function trainable named in the
spec) and ``old_layout/pbt.tar.gz`` (PBT over random search, a ``tune.Trainable`` class passed as
``trainable=``), each a run home (``store.sqlite``, ``ray/<name>/``, ``FIXTURE.json``) that commit
a49b38e wrote before its driver was SIGKILLed mid-sweep. ``old_layout/make_fixtures.py`` made them
(against a49b38e only: see its docstring); the trainables are ``old_layout/user_trainable.py``,
which imports nothing of hpo. Ray pickled the old layout's objects by module path into those
homes, and a resume unpickles them all::

    tuner.pkl                 search.restored_state.ReconcilingSearchGenerator / ReconcilingVariantGenerator,
                              search.optuna_search.SpecOptunaSearch, search.optuna_state.SamplerSettings,
                              search.optuna_state.StudyRecord, search.schedulers.LineagePBT,
                              search.callbacks.LiveCallbacks, search.callbacks.PlanStopper,
                              search.retention.CheckpointRetention, search.tbx._SyncEventWriter,
                              search.sweep._trial_dirname, spaces.translate.OptunaSpace,
                              spaces.params.FloatParam, spaces.mutations.ConfigClip
    experiment_state-*.json   search.sweep._trial_dirname, search.callbacks.PlanStopper (cloudpickled, in hex)
    search_gen_state-*.json   search.sweep._trial_dirname, search.callbacks.PlanStopper
    basic-variant-state-*.json  search.sweep._trial_dirname
    searcher-state-*.pkl      search.optuna_state.SamplerSettings / StudyRecord, spaces.translate.OptunaSpace,
                              spaces.params.FloatParam

(each archive's ``FIXTURE.json`` lists them per file). This test fails until those names resolve
under the new layout (module aliases or a compat unpickler).

The store records absolute paths (``sweeps.storage_path``, ``experiment_path``,
``trials.checkpoint_path``), and a resume reads Ray's state from the recorded ``storage_path``,
whatever ``--home`` says: the test moves the home as a user must, rewriting the old home's prefix
in the store to where it extracted the archive (no hpo command does it). Ray's own state holds
absolute paths too; ``Tuner.restore`` rewrites those itself.

A trial created after the resume would still run in the OLD home's storage (Ray pickles the
Experiment, its absolute storage path included, into the search generator's state, and rewrites
the paths of restored trials only; hpo does not fix it up), so each sweep was killed after its last
trial was suggested. It was also killed when the store held no more than Tune's saved state, so what
the resume must redo is exact: every trial Tune held unfinished runs on from its checkpoint (the
trainables report ``restored_from``, the checkpoint's iteration; Tune's ``result.json`` shows the
first result after the resume) or from scratch without one, ended trials are left as they were,
and each (trial, iteration) is stored once.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import sqlite3
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parent / "old_layout"
_ENDED = frozenset({"TERMINATED", "ERROR"})


def _extract(name: str, home: Path) -> None:
    with tarfile.open(FIXTURES / f"{name}.tar.gz") as tar:
        tar.extractall(home, filter="data")


def _move_home(home: Path, name: str) -> str:
    """Point the store's absolute paths at ``home``, where the archive was extracted; return the old home."""
    with contextlib.closing(sqlite3.connect(home / "store.sqlite")) as conn, conn:
        (storage,) = conn.execute("SELECT storage_path FROM sweeps WHERE name = ?", (name,)).fetchone()
        old = str(Path(storage).parent)
        new = {"old": old, "new": str(home)}
        conn.execute("UPDATE sweeps SET storage_path = replace(storage_path, :old, :new), "
                     "experiment_path = replace(experiment_path, :old, :new)", new)
        conn.execute("UPDATE trials SET checkpoint_path = replace(checkpoint_path, :old, :new)", new)
    return old


def _tune_state(experiment: Path) -> dict[str, tuple[str, int | None]]:
    """Trial id -> (status, iteration of the checkpoint Tune restores it from, or None), from Tune's
    newest saved state. Read as JSON; only the checkpoint manager (Ray's own classes) is unpickled."""
    import cloudpickle

    newest = sorted(experiment.glob("experiment_state-*.json"))[-1]
    state: dict[str, tuple[str, int | None]] = {}
    for trial_json, meta_json in json.loads(newest.read_text())["trial_data"]:
        trial, meta = json.loads(trial_json), json.loads(meta_json)
        latest = cloudpickle.loads(bytes.fromhex(meta["checkpoint_manager"]["value"])).latest_checkpoint_result
        state[str(trial["trial_id"])] = (
            trial["status"], int(latest.metrics["training_iteration"]) if latest is not None else None)
    return state


def _rows(home: Path, name: str) -> dict[str, dict[int, list[tuple[float, dict[str, Any]]]]]:
    """Every stored result row: trial id -> iteration -> [(recorded, metrics)], one per row."""
    rows: dict[str, dict[int, list[tuple[float, dict[str, Any]]]]] = {}
    with contextlib.closing(sqlite3.connect(home / "store.sqlite")) as conn:
        for trial_id, iteration, recorded, metrics in conn.execute(
                "SELECT t.trial_id, r.iteration, r.recorded, r.metrics FROM results r "
                "JOIN trials t ON r.trial_pk = t.id JOIN sweeps s ON t.sweep_id = s.id WHERE s.name = ?", (name,)):
            rows.setdefault(trial_id, {}).setdefault(int(iteration), []).append((recorded, json.loads(metrics)))
    return rows


def _tune_results(experiment: Path) -> dict[str, list[dict[str, Any]]]:
    """Each trial's ``result.json``: Tune appends every result there, a resumed run's after the first's."""
    found: dict[str, list[dict[str, Any]]] = {}
    for path in experiment.glob("*/result.json"):
        results = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        if results:
            found[str(results[0]["trial_id"])] = results
    return found


@pytest.mark.slow(seconds=30)
@pytest.mark.filterwarnings("ignore:Consider boosting PBT performance:UserWarning")  # Train has no reset_config
@pytest.mark.parametrize("name", ["optuna_asha", "pbt"])
def test_sweep_killed_under_the_old_layout_resumes(
    ray_session: None, tmp_home: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    import yaml

    from hpo.results import LINEAGE_KEY, Store
    from hpo.search import resume_sweep

    monkeypatch.syspath_prepend(str(FIXTURES))  # `user_trainable`, as the spec names it
    _extract(name, tmp_home)
    old_home = _move_home(tmp_home, name)
    old_home_existed = Path(old_home).exists()  # the fixture's maker's temporary folder: gone, normally
    fixture = json.loads((tmp_home / "FIXTURE.json").read_text())
    experiment = tmp_home / "ray" / name
    at_kill, rows_at_kill, logged_at_kill = _tune_state(experiment), _rows(tmp_home, name), _tune_results(experiment)
    store = Store.open(home=tmp_home)
    record = store.get_sweep(name)
    spec = yaml.safe_load(record.spec_yaml)
    samples, max_t = spec["search"]["num_samples"], spec["scheduler"]["max_t"]
    exploits = spec["scheduler"]["type"] in ("pbt", "pb2")

    # What the fixture holds: a sweep the killed driver left running, every trial suggested (a trial
    # created after the resume would run in the old home's storage: see make_fixtures.ready_to_kill),
    # some ended, some unfinished with a checkpoint; the store no further than Tune's saved state.
    assert record.status == "running"
    resumable = {tid: k for tid, (status, k) in at_kill.items() if status not in _ENDED and k}
    assert resumable and any(status in _ENDED for status, _ in at_kill.values()) and len(at_kill) == samples
    for tid, by_iteration in rows_at_kill.items():
        assert sorted(by_iteration) == list(range(1, (at_kill[tid][1] or 0) + 1)), tid

    trainable = None
    if fixture["trainable_passed_as_object"]:  # run_sweep(spec, trainable=Train): resume it the same way
        import user_trainable

        trainable = getattr(user_trainable, spec["trainable"].partition(":")[2])
    resumed_at = time.time()
    outcome = resume_sweep(name, home=tmp_home, trainable=trainable, progress="none")

    assert outcome.status == "finished", outcome.first_error
    assert store.get_sweep(name).status == "finished"
    assert old_home_existed or not Path(old_home).exists()  # nothing went to the home as it was
    trials = {t.trial_id: t for t in store.trials(name)}
    assert set(trials) == set(at_kill)
    rows, logged = _rows(tmp_home, name), _tune_results(experiment)
    for tid, trial in trials.items():
        # A final status, and each (trial, iteration) stored exactly once: 1..n, and no gap but where
        # PBT moved the trial onto a donor's later checkpoint (that result carries the lineage marks).
        assert trial.status in ("completed", "stopped_early"), (tid, trial.status, trial.error)
        assert 1 <= trial.iterations <= max_t and (trial.iterations == max_t) == (trial.status == "completed")
        assert all(len(found) == 1 for found in rows[tid].values()), tid
        by_iteration = {i: found[0] for i, found in rows[tid].items()}
        stored = sorted(by_iteration)
        assert stored[0] == 1 and stored[-1] == trial.iterations, (tid, stored)
        for before, i in itertools.pairwise(stored):
            if i != before + 1:
                marks = by_iteration[i][1]
                assert exploits and marks.get(f"{LINEAGE_KEY}/from_step") == i - 1, (tid, stored, marks)
        status, k = at_kill[tid]
        after = logged.get(tid, [])[len(logged_at_kill.get(tid, [])):]  # Tune's results since the resume
        if status in _ENDED:  # ended before the kill: the resume leaves it as it was
            assert rows[tid] == rows_at_kill[tid] and not after, tid
            continue
        # Unfinished: the resume ran it on from its checkpoint's iteration k, or from scratch without one.
        k = k or 0
        if k < max_t:
            assert after, tid
            assert (after[0]["training_iteration"], after[0]["restored_from"]) == (k + 1, k), (tid, after[0])
        # The results up to k are the first run's; under PBT the trial may later take a donor's checkpoint
        # (that result then carries the lineage marks) and run iterations again: kept up to the first such.
        rewound = min((i for i, (recorded, metrics) in by_iteration.items()
                       if recorded >= resumed_at and f"{LINEAGE_KEY}/from_trial" in metrics), default=math.inf)
        assert {i: rows[tid][i] for i in rows[tid] if i < min(rewound, k + 1)} == rows_at_kill.get(tid, {}), tid
        for i in stored:
            if k < i < rewound:
                recorded, metrics = by_iteration[i]
                assert recorded >= resumed_at, (tid, i)
                # ASHA never restarts a trial; PBT pauses (so restores) a trial at its own checkpoints.
                restored_from = metrics["restored_from"]
                assert restored_from == k if not exploits else k <= restored_from < i, (tid, i, restored_from)
