"""What a resume decides without Ray: which errored row a restarted trial replaces, and whether the spec's
file changed since the sweep started (``hpo resume`` says so in one line)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from store_rows import FakeTrial, fill_sweep

from hpo.results import Store
from hpo.search.engine.restarts import RestartLedger
from hpo.search.engine.spec_source import changed_spec_note, spec_file_record
from hpo.spaces import load_spec, parse_spec

SPEC = {"name": "s", "trainable": "toy:quadratic", "metric": "loss", "mode": "min",
        "search": {"algorithm": "random", "num_samples": 4, "seed": 0},
        "params": {"x": {"type": "float", "low": -1.0, "high": 1.0}}}


# ------------------------------------------------------------------ restarted trials
def test_each_restarted_trial_replaces_one_errored_row_of_its_config(tmp_path: Path) -> None:
    store = Store.open(home=tmp_path / "runs")
    fill_sweep(store, "s", yaml.safe_dump(SPEC), {
        "e1": ({"x": 0.5, "pair": [1, 2]}, [], "error"),
        "e2": ({"x": 0.2, "pair": [1, 2]}, [], "error"),
        "e3": ({"x": 0.5, "pair": [1, 2]}, [], "error"),  # a grid's repeat: the same config twice
        "c1": ({"x": 0.9, "pair": [1, 2]}, [1.0], "complete"),
    }, status="failed")
    ledger = RestartLedger(store, sweep="s")
    for trial_id, x in (("n1", 0.5), ("c1", 0.9), ("n2", 0.5), ("n3", 0.9), ("n4", 0.2), ("n1", 0.5)):
        trial = FakeTrial(trial_id, {"x": x, "pair": (1, 2)})  # Ray's config may hold a tuple: stored as a list
        ledger.on_trial_start(0, [trial], trial)
    marks = {t.trial_id: t.replaced_by for t in store.trials("s", replaced=True)}
    assert marks == {"e1": "n1", "e3": "n2", "e2": "n4", "c1": None}
    assert store.counts("s")["error"] == 0


def test_a_ledger_leaves_rows_already_replaced_alone(tmp_path: Path) -> None:
    store = Store.open(home=tmp_path / "runs")
    fill_sweep(store, "s", yaml.safe_dump(SPEC), {"e1": ({"x": 0.5}, [], "error")}, status="failed")
    store.mark_replaced("s", {"e1": "n1"})
    store.start_sweep(name="s", spec_yaml=None, spec_hash=None, metric="loss", mode="min", resumed=True)
    trial = FakeTrial("n9", {"x": 0.5})
    RestartLedger(store, sweep="s").on_trial_start(0, [trial], trial)
    assert {t.trial_id: t.replaced_by for t in store.trials("s", replaced=True)} == {"e1": "n1"}


def test_a_trial_drawn_afresh_replaces_a_row_that_rays_saved_state_never_held(tmp_path: Path) -> None:
    """A sweep ended at once (fail-fast) before Ray saved its last trials: on resume the searcher draws new
    ones in their place, and each replaces one such row (errored, or left running), oldest first."""
    store = Store.open(home=tmp_path / "runs")
    fill_sweep(store, "s", yaml.safe_dump(SPEC), {
        "e1": ({"x": 0.1}, [], "error"),    # Ray restores it under its own id
        "e2": ({"x": 0.2}, [], "error"),    # never saved by Ray
        "r1": ({"x": 0.3}, [], "running"),  # never saved by Ray, left running when the sweep ended
        "c1": ({"x": 0.9}, [1.0], "complete"),
    }, status="failed")
    ledger = RestartLedger(store, sweep="s")
    restored = [FakeTrial("e1", {"x": 0.1}), FakeTrial("c1", {"x": 0.9})]
    ledger.on_step_begin(0, restored)
    for trial in (restored[0], FakeTrial("n1", {"x": 0.7}), FakeTrial("n2", {"x": 0.8}), FakeTrial("n3", {"x": 0.6})):
        ledger.on_trial_start(0, [*restored, trial], trial)
    marks = {t.trial_id: t.replaced_by for t in store.trials("s", replaced=True)}
    assert marks == {"e1": None, "e2": "n1", "r1": "n2", "c1": None}
    assert sorted(t.trial_id for t in store.trials("s")) == ["c1", "e1"]  # n1..n3 have no rows yet here


def test_a_restarted_trial_keeps_its_own_row_before_a_fresh_trial_takes_one(tmp_path: Path) -> None:
    store = Store.open(home=tmp_path / "runs")
    fill_sweep(store, "s", yaml.safe_dump(SPEC), {
        "e1": ({"x": 0.1}, [], "error"), "e2": ({"x": 0.2}, [], "error")}, status="failed")
    ledger = RestartLedger(store, sweep="s")
    reset = FakeTrial("n1", {"x": 0.2})  # Ray restarted e2 as n1; e1 it never saved
    ledger.on_step_begin(0, [reset])
    fresh = FakeTrial("n2", {"x": 0.5})
    for trial in (fresh, reset):  # the fresh trial starts first: it must not take e2, n1's own row
        ledger.on_trial_start(0, [reset, fresh], trial)
    assert {t.trial_id: t.replaced_by for t in store.trials("s", replaced=True)} == {"e1": "n2", "e2": "n1"}


# ------------------------------------------------------------------ the spec's file
@pytest.fixture
def started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, Path]:
    """A sweep started from ``spec.yaml`` in the working folder (recorded as the engine records it)."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(SPEC, sort_keys=False))
    spec = load_spec("spec.yaml")
    store = Store.open(home=tmp_path / "runs")
    store.start_sweep(name="s", spec_yaml=spec.to_yaml(), spec_hash=spec.spec_hash(), metric="loss", mode="min",
                      spec_file=spec_file_record(spec))
    return store, path


def test_the_spec_file_is_recorded_by_absolute_path_and_digest(started: tuple[Store, Path]) -> None:
    store, path = started
    recorded = store.get_sweep("s").spec_file
    assert recorded is not None and recorded["path"] == str(path.resolve()) and len(recorded["sha256"]) == 64
    assert spec_file_record(parse_spec(SPEC, source="notebook")) is None
    assert spec_file_record(load_spec("quickstart")) is None  # a built-in spec: no file of the user's


def test_no_note_while_the_file_is_as_it_was_or_means_the_same(started: tuple[Store, Path]) -> None:
    store, path = started
    assert changed_spec_note(store.get_sweep("s")) is None
    path.write_text("# a comment, and the same spec\n" + yaml.safe_dump(SPEC, sort_keys=False))
    assert changed_spec_note(store.get_sweep("s")) is None
    path.unlink()  # moved away, or another machine
    assert changed_spec_note(store.get_sweep("s")) is None


def test_a_changed_or_broken_file_gets_one_line(started: tuple[Store, Path]) -> None:
    store, path = started
    path.write_text(yaml.safe_dump({**SPEC, "search": {**SPEC["search"], "num_samples": 8}}))
    expected = ("note: spec.yaml changed since sweep s started; resume runs the spec stored with it "
                "(to run the file, start a new sweep: hpo sweep spec.yaml --name NEW_NAME)")
    assert changed_spec_note(store.get_sweep("s")) == expected
    path.write_text("name: [unclosed\n")
    assert changed_spec_note(store.get_sweep("s")) == expected


def test_a_file_outside_the_working_folder_is_named_by_its_absolute_path(
        started: tuple[Store, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, path = started
    elsewhere = tmp_path / "my dir"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path.write_text(yaml.safe_dump({**SPEC, "mode": "max"}))
    shown = os.path.relpath(path)  # ../spec.yaml
    assert shown.startswith("..")
    assert changed_spec_note(store.get_sweep("s")) == (
        f"note: {path} changed since sweep s started; resume runs the spec stored with it "
        f"(to run the file, start a new sweep: hpo sweep {path} --name NEW_NAME)")
