"""Failing fast: the rule, the did-you-mean of a missing config key, and the one line a retried failure gets.

No Ray: the callback and the view are fed trials by hand, each failed one with the error file Ray would
have written (the sweep itself runs in tests/cli_tests/test_cli_sweep.py).
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any

import pytest

from hpo.search.engine.fail_fast import FailedFast, FailFast, did_you_mean, missing_key
from hpo.search.engine.progress import quiet_ray_logging, retry_line

SECTIONS = {"l_2": "params", "lr": "params", "optimizer": "params", "epochs": "fixed"}
L2_TRACEBACK = ("Failure # 1 (occurred at 2026-12-07_03-22-25)\n"
                "ray::ImplicitFunc.train() (pid=27140, ip=192.0.2.2, repr=train)\n"
                '  File "/tmp/ff/mymod.py", line 4, in train\n'
                '    l2 = config["l2"]\n'
                "KeyError: 'l2'\n")


class _Trial:
    """What the callback and the view read of a Tune trial."""

    def __init__(self, tmp_path: Path, tid: str, error: str | None = None, config: dict[str, Any] | None = None,
                 ) -> None:
        self.trial_id = tid
        self.config = config if config is not None else {"l_2": 0.5, "epochs": 2}
        self.error_file = None
        self.pickled_error_file = None
        self.checkpoint = None
        self.num_failures, self.max_failures = 0, 0
        if error is not None:
            self.error_file = str(tmp_path / f"{tid}.error.txt")
            Path(self.error_file).write_text(error)


def _watch(planned: int | None = 6) -> FailFast:
    return FailFast(planned=planned, sections=SECTIONS)


def _fail(watch: FailFast, trial: _Trial) -> None:
    watch.on_trial_error(iteration=1, trials=[trial], trial=trial)


def _ended(watch: FailFast) -> str | None:
    try:
        watch.on_step_end(iteration=1, trials=[])
    except FailedFast as exc:
        return str(exc)
    return None


# --------------------------------------------------------------------------- did you mean
def test_a_missing_key_names_the_close_one_and_where_the_spec_sets_it() -> None:
    assert did_you_mean("l2", {"l_2": 0.5, "epochs": 2}, sections=SECTIONS) == (
        "config has no 'l2'; it has 'l_2' (params.l_2)")


def test_a_key_of_a_nested_group_is_named_by_its_dotted_path() -> None:
    config = {"lr": 0.1, "optimizer": {"name": "sgd", "momentum": 0.9}}
    assert did_you_mean("momentum", config, sections=SECTIONS) == (
        "config has no 'momentum'; it has 'optimizer.momentum' (params.optimizer.momentum)")
    assert did_you_mean("momentun", config, sections=SECTIONS) == (
        "config has no 'momentun'; it has 'optimizer.momentum' (params.optimizer.momentum)")


def test_with_no_close_key_every_key_is_listed() -> None:
    assert did_you_mean("batch_size", {"lr": 0.1, "epochs": 2, "seed": 0}, sections=SECTIONS) == (
        "config has no 'batch_size'; its keys: 'lr' (params.lr), 'epochs' (fixed.epochs), 'seed'")
    many = {f"k{i:02d}": i for i in range(15)}
    assert did_you_mean("zzz", many, sections={}) == (
        "config has no 'zzz'; its keys: " + ", ".join(f"'k{i:02d}'" for i in range(12)) + " and 3 more")


def test_a_key_the_config_has_gets_no_hint() -> None:
    # The KeyError came from elsewhere in the trainable (a dict of its own).
    assert did_you_mean("lr", {"lr": 0.1}, sections=SECTIONS) is None
    assert did_you_mean("optimizer.name", {"optimizer": {"name": "sgd"}}, sections=SECTIONS) is None


@pytest.mark.parametrize(("summary", "key"), [
    ("KeyError: 'l2'", "l2"),
    ('KeyError: "it\'s"', "it's"),
    ("KeyError: 0", None),
    ("ValueError: 'l2'", None),
    (None, None),
])
def test_the_missing_key_is_read_from_the_error_line(summary: str | None, key: str | None) -> None:
    assert missing_key(summary) == key


# --------------------------------------------------------------------------- the rule
def test_three_trials_in_a_row_failing_alike_end_the_sweep_with_the_did_you_mean(tmp_path: Path) -> None:
    watch = _watch()
    for i in range(2):
        _fail(watch, _Trial(tmp_path, f"t{i}", L2_TRACEBACK))
        assert _ended(watch) is None
    _fail(watch, _Trial(tmp_path, "t2", L2_TRACEBACK))
    assert _ended(watch) == ("3 trials in a row failed with KeyError: 'l2' before reporting anything; "
                             "config has no 'l2'; it has 'l_2' (params.l_2)")


def test_a_different_error_starts_the_run_again(tmp_path: Path) -> None:
    watch = _watch()
    for i, error in enumerate(["ValueError: a", "ValueError: a", "ValueError: b", "ValueError: b"]):
        _fail(watch, _Trial(tmp_path, f"t{i}", f"Traceback\n{error}\n"))
        assert _ended(watch) is None
    _fail(watch, _Trial(tmp_path, "t4", "Traceback\nValueError: b\n"))
    assert _ended(watch) == "3 trials in a row failed with ValueError: b before reporting anything"


def test_once_a_trial_reported_no_run_of_failures_ends_the_sweep(tmp_path: Path) -> None:
    watch = _watch()
    ok = _Trial(tmp_path, "ok")
    watch.on_trial_result(iteration=1, trials=[ok], trial=ok, result={"loss": 1.0})
    for i in range(5):
        _fail(watch, _Trial(tmp_path, f"t{i}", L2_TRACEBACK))
    assert _ended(watch) is None


def test_a_trial_that_ends_without_an_error_breaks_the_run(tmp_path: Path) -> None:
    watch = _watch()
    for i in range(2):
        _fail(watch, _Trial(tmp_path, f"t{i}", L2_TRACEBACK))
    quiet = _Trial(tmp_path, "quiet")  # returned without reporting anything
    watch.on_trial_complete(iteration=1, trials=[quiet], trial=quiet)
    for i in range(2, 4):
        _fail(watch, _Trial(tmp_path, f"t{i}", L2_TRACEBACK))
    assert _ended(watch) is None


@pytest.mark.parametrize(("planned", "who"), [(2, "all 2 trials"), (1, "its only trial"), (3, "all 3 trials")])
def test_fewer_than_three_planned_trials_all_failing_alike_end_it(tmp_path: Path, planned: int, who: str) -> None:
    watch = _watch(planned)
    for i in range(planned):
        assert _ended(watch) is None
        _fail(watch, _Trial(tmp_path, f"t{i}", "Traceback\nRuntimeError: no GPU\n"))
    assert _ended(watch) == f"{who} failed with RuntimeError: no GPU before reporting anything"


# --------------------------------------------------------------------------- the console
def _retried(tmp_path: Path, error: BaseException, *, checkpoint: object = None) -> _Trial:
    trial = _Trial(tmp_path, "e4790_00001")
    trial.pickled_error_file = str(tmp_path / "error.pkl")
    Path(trial.pickled_error_file).write_bytes(pickle.dumps(error))
    trial.checkpoint, trial.num_failures, trial.max_failures = checkpoint, 1, 2
    return trial


def test_a_lost_worker_and_a_trainable_error_retried_are_one_line_each(tmp_path: Path) -> None:
    from ray.exceptions import ActorDiedError

    assert retry_line(_retried(tmp_path, ActorDiedError(), checkpoint=object())) == (
        "trial e4790_00001: worker lost (ActorDiedError); retrying from its checkpoint (retry 1 of 2)")
    assert retry_line(_retried(tmp_path, ValueError("boom"))) == (
        "trial e4790_00001: failed with ValueError: boom; retrying from the start (retry 1 of 2)")
    unpickled = _Trial(tmp_path, "e4790_00002", "Traceback\nOSError: disk full\n")
    unpickled.num_failures, unpickled.max_failures = 1, -1  # no pickled error; retried for ever
    assert retry_line(unpickled) == (
        "trial e4790_00002: failed with OSError: disk full; retrying from the start (retry 1)")


def test_rays_trial_tracebacks_are_held_back_unless_verbose() -> None:
    controller = logging.getLogger("ray.tune.execution.tune_controller")

    def shown(message: str) -> bool:
        return controller.filter(controller.makeRecord(controller.name, logging.ERROR, __file__, 1, message,
                                                       (), None))

    try:
        quiet_ray_logging(verbose=False)
        assert not shown("Trial task failed for trial train_6b0f9_00001")
        assert shown("Something else went wrong")
        quiet_ray_logging(verbose=True)
        assert shown("Trial task failed for trial train_6b0f9_00001")
    finally:
        quiet_ray_logging(verbose=False)
