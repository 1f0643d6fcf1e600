"""StoreCallback without Ray running: statuses, batching, resume without duplicates, pickling,
a reader while another process writes, and two writer processes on one SQLite file."""

from __future__ import annotations

import multiprocessing
import pickle
import time
from pathlib import Path

import pytest
from harness import wait_for
from sqlalchemy import func, select

from hpo.results import Store, StoreCallback
from hpo.results.store.schema import results_table, trials_table

from .conftest import DEMO_TRIALS, FakeTrial, fill_demo


def _rows(store: Store) -> tuple[int, int]:
    with store.engine.connect() as conn:
        trials = conn.execute(select(func.count()).select_from(trials_table)).scalar()
        results = conn.execute(select(func.count()).select_from(results_table)).scalar()
    return trials, results


def test_statuses_completed_stopped_early_error_running(demo: Store) -> None:
    status = {t.trial_id: t.status for t in demo.trials("demo")}
    assert status == {"t0": "completed", "t1": "completed", "t2": "completed", "t3": "stopped_early",
                      "t4": "error", "t5": "running"}


def test_error_text_comes_from_the_trials_error_file(demo: Store) -> None:
    errored = demo.trials("demo", status="error")[0]
    assert errored.error.splitlines()[0] == "Failure # 1"
    assert errored.error.splitlines()[-1] == "ValueError: boom <script>alert(1)</script>"


def test_error_without_a_file_gets_a_stand_in(store: Store) -> None:
    cb = StoreCallback(store, sweep="s", metric="m", mode="min", max_t=3)
    trial = FakeTrial("x1", {"a": 1})
    cb.on_trial_start(0, [trial], trial)
    cb.on_trial_error(0, [trial], trial)
    cb.flush()
    assert store.trials("s")[0].error == "trial x1 failed (Ray left no error file)"


def test_recovered_trial_stays_running_with_its_error_kept(store: Store, tmp_path: Path) -> None:
    cb = StoreCallback(store, sweep="s", metric="m", mode="min", max_t=2)
    err = tmp_path / "error.txt"
    err.write_text("RuntimeError: flaky\n")
    trial = FakeTrial("x1", {}, error_file=str(err))
    cb.on_trial_start(0, [trial], trial)
    cb.on_trial_recover(0, [trial], trial)
    cb.flush()
    record = store.trials("s")[0]
    assert (record.status, record.error) == ("running", "RuntimeError: flaky")
    for step in (1, 2):
        cb.on_trial_result(0, [trial], trial, {"training_iteration": step, "m": 1.0})
    cb.on_trial_complete(0, [trial], trial)
    cb.flush()
    assert store.trials("s")[0].status == "completed"


def _ended_by_hpo(trial: FakeTrial) -> str | None:
    ended = trial.trial_id == "x1"
    return "timed out: no result for 600 s after iteration 3 (failures.report_timeout)" if ended else None


def test_a_reason_hpo_gives_is_recorded_instead_of_rays_error_file(store: Store, tmp_path: Path) -> None:
    """``error_of`` (the engine's time limits) names why hpo ended a trial; Ray's file says only that the
    actor died. Trials hpo did not end keep Ray's text; the callback still pickles with the hook."""
    err = tmp_path / "error.txt"
    err.write_text("ray.exceptions.RayActorError: The actor died unexpectedly\n")
    cb = pickle.loads(pickle.dumps(StoreCallback(store, sweep="s", metric="m", mode="min", max_t=3,
                                                 error_of=_ended_by_hpo)))
    ended, crashed = FakeTrial("x1", {}, error_file=str(err)), FakeTrial("x2", {}, error_file=str(err))
    for trial in (ended, crashed):
        cb.on_trial_start(0, [trial], trial)
    cb.on_trial_recover(0, [ended], ended)
    cb.flush()
    assert store.trials("s", status="running")[0].error == (
        "timed out: no result for 600 s after iteration 3 (failures.report_timeout)")
    cb.on_trial_error(0, [ended], ended)
    cb.on_trial_error(0, [crashed], crashed)
    cb.flush()
    assert {t.trial_id: t.error for t in store.trials("s")} == {
        "x1": "timed out: no result for 600 s after iteration 3 (failures.report_timeout)",
        "x2": "ray.exceptions.RayActorError: The actor died unexpectedly"}


def test_callback_alone_creates_the_sweep_row(store: Store) -> None:
    cb = StoreCallback(store, sweep="bare", metric="loss", mode="max", max_t=None)
    cb.setup()
    sweep = store.get_sweep("bare")
    assert (sweep.status, sweep.metric, sweep.mode) == ("running", "loss", "max")


def test_without_max_t_every_clean_end_is_completed(store: Store) -> None:
    cb = StoreCallback(store, sweep="s", metric="m", mode="min", max_t=None)
    trial = FakeTrial("x", {})
    cb.on_trial_start(0, [trial], trial)
    cb.on_trial_result(0, [trial], trial, {"training_iteration": 1, "m": 1.0})
    cb.on_trial_complete(0, [trial], trial)
    cb.flush()
    assert store.trials("s")[0].status == "completed"


def test_time_attr_other_than_training_iteration(store: Store) -> None:
    cb = StoreCallback(store, sweep="s", metric="m", mode="min", max_t=10, time_attr="epoch")
    done, early = FakeTrial("done", {}), FakeTrial("early", {})
    for trial, epochs in ((done, 10), (early, 6)):
        cb.on_trial_start(0, [], trial)
        cb.on_trial_result(0, [], trial, {"training_iteration": 1, "epoch": epochs, "m": 1.0, "done": True})
        cb.on_trial_complete(0, [], trial)
    cb.flush()
    assert {t.trial_id: t.status for t in store.trials("s")} == {"done": "completed", "early": "stopped_early"}


def test_a_trial_that_ends_on_its_own_before_max_t_completed(store: Store) -> None:
    """A function trainable that returns (a command trial's script exiting 0 after 3 epochs of max_t 10) ends
    with no result to callbacks; one Tune stopped got its last result with ``done`` set."""
    cb = StoreCallback(store, sweep="s", metric="m", mode="min", max_t=10)
    own, cut = FakeTrial("own", {}), FakeTrial("cut", {})
    for trial, done in ((own, False), (cut, True)):
        cb.on_trial_start(0, [], trial)
        cb.on_trial_result(0, [], trial, {"training_iteration": 3, "m": 1.0, "done": done})
        cb.on_trial_complete(0, [], trial)
    cb.flush()
    assert {t.trial_id: t.status for t in store.trials("s")} == {"own": "completed", "cut": "stopped_early"}


def test_pending_trial_cancelled_at_the_end_is_not_recorded(store: Store) -> None:
    cb = StoreCallback(store, sweep="s", metric="m", mode="min", max_t=3)
    cb.setup()
    never = FakeTrial("never", {})
    cb.on_trial_complete(0, [never], never)
    cb.on_experiment_end([never])
    assert store.trials("s") == []


def test_non_finite_metrics_are_stored_as_missing(store: Store) -> None:
    cb = StoreCallback(store, sweep="s", metric="m", mode="min", max_t=3)
    trial = FakeTrial("x", {"lr": float("nan")})
    cb.on_trial_start(0, [trial], trial)
    cb.on_trial_result(0, [trial], trial, {"training_iteration": 1, "m": float("nan"), "other": float("inf")})
    cb.on_trial_result(0, [trial], trial, {"training_iteration": 2, "m": 0.5})
    cb.flush()
    record = store.trials("s")[0]
    assert (record.best_metric, record.best_iteration, record.last_metric) == (0.5, 2, 0.5)
    history = store.history("x")
    assert history["m"].isna().tolist() == [True, False]
    assert history["other"].isna().tolist() == [True, True]  # inf stored as missing; absent later


def test_checkpoint_paths_are_recorded(store: Store, tmp_path: Path) -> None:
    from .conftest import FakeCheckpoint

    cb = StoreCallback(store, sweep="s", metric="m", mode="min", max_t=1)
    trial = FakeTrial("x", {})
    cb.on_trial_start(0, [trial], trial)
    cb.on_trial_result(0, [trial], trial, {"training_iteration": 1, "m": 1.0})
    cb.on_checkpoint(0, [trial], trial, FakeCheckpoint(str(tmp_path / "checkpoint_000000")))
    cb.flush()
    assert store.trials("s")[0].checkpoint_path == str(tmp_path / "checkpoint_000000")


def test_results_wait_in_memory_until_a_flush(store: Store) -> None:
    cb = StoreCallback(store, sweep="s", metric="m", mode="min", max_t=5, flush_every_s=3600, flush_results=10)
    trial = FakeTrial("x", {})
    cb.on_trial_start(0, [trial], trial)
    for step in range(1, 10):
        cb.on_trial_result(0, [trial], trial, {"training_iteration": step, "m": 1.0})
    assert _rows(store) == (0, 0)
    cb.on_trial_result(0, [trial], trial, {"training_iteration": 10, "m": 1.0})  # the 10th forces a write
    assert _rows(store) == (1, 10)
    cb.on_trial_result(0, [trial], trial, {"training_iteration": 11, "m": 1.0})
    cb.on_experiment_end([trial])
    assert _rows(store) == (1, 11)


def test_feeding_the_same_results_twice_duplicates_nothing(demo: Store, tmp_path: Path) -> None:
    before = _rows(demo)
    trials_before = [t.to_dict() for t in demo.trials("demo")]
    demo.start_sweep(name="demo", spec_yaml=None, spec_hash=None, metric="val_loss", mode="min", resumed=True)
    fill_demo(demo, tmp_path, start=False)  # a new callback replays every event: a resumed driver
    assert _rows(demo) == before == (len(DEMO_TRIALS), sum(len(v) for v, _ in DEMO_TRIALS.values()))
    after = [t.to_dict() for t in demo.trials("demo")]
    strip = ("started", "ended", "duration_s")
    assert [{k: v for k, v in t.items() if k not in strip} for t in after] == [
        {k: v for k, v in t.items() if k not in strip} for t in trials_before]
    assert demo.get_sweep("demo").status == "running"


def test_a_replayed_iteration_with_a_new_value_updates_best_and_last(store: Store) -> None:
    cb = StoreCallback(store, sweep="s", metric="m", mode="min", max_t=3)
    trial = FakeTrial("x", {})
    cb.on_trial_start(0, [trial], trial)
    for step, value in ((1, 0.5), (2, 0.1), (3, 0.3)):
        cb.on_trial_result(0, [trial], trial, {"training_iteration": step, "m": value})
    cb.flush()
    # The trial restarts from its iteration-1 checkpoint and reports 2 and 3 again, worse.
    again = StoreCallback(store, sweep="s", metric="m", mode="min", max_t=3)
    again.setup()
    for step, value in ((2, 0.4), (3, 0.45)):
        again.on_trial_result(0, [trial], trial, {"training_iteration": step, "m": value})
    again.flush()
    record = store.trials("s")[0]
    assert (record.best_metric, record.best_iteration, record.last_metric, record.iterations) == (0.4, 2, 0.45, 3)
    assert _rows(store) == (1, 3)


def test_callback_survives_pickling_like_tuner_pkl(store: Store) -> None:
    cb = StoreCallback(store, sweep="s", metric="m", mode="max", max_t=4, time_attr="epoch", flush_every_s=0.5)
    clone = pickle.loads(pickle.dumps(cb))
    assert (clone.store.url, clone.sweep, clone.mode, clone.max_t, clone.time_attr, clone.flush_every_s) == (
        store.url, "s", "max", 4, "epoch", 0.5)
    trial = FakeTrial("x", {})
    clone.on_trial_start(0, [trial], trial)
    clone.flush()
    assert [t.trial_id for t in store.trials("s")] == ["x"]
    clone.store.close()


_ASKED: list[str] = []


def _node_of(trial: FakeTrial) -> str | None:
    """A node lookup as the engine hands one in (module-level, so the callback still pickles)."""
    _ASKED.append(trial.trial_id)
    if trial.trial_id == "lost":
        raise RuntimeError("a Ray that moved its actor table")
    return None if trial.trial_id == "unknown" else "ab" * 28


def test_node_of_gives_the_node_id_beside_the_results_ip_once_per_placement(store: Store) -> None:
    _ASKED.clear()
    cb = StoreCallback(store, sweep="s", metric="m", mode="min", max_t=4, node_of=_node_of)
    trials = [FakeTrial(tid, {}) for tid in ("x", "lost", "unknown")]
    for trial in trials:
        cb.on_trial_start(0, trials, trial)
        for step in (1, 2):
            cb.on_trial_result(0, trials, trial, {"training_iteration": step, "m": 1.0, "node_ip": "10.0.0.7"})
    assert _ASKED == ["x", "lost", "unknown"]  # once each, not once per result
    cb.on_trial_start(0, trials, trials[0])  # restarted: it may have moved
    cb.on_trial_result(0, trials, trials[0], {"training_iteration": 3, "m": 1.0, "node_ip": "10.0.0.8"})
    cb.flush()
    assert _ASKED == ["x", "lost", "unknown", "x"]
    nodes = {t.trial_id: t.node_info for t in store.trials("s")}
    assert nodes == {"x": {"ip": "10.0.0.8", "id": "ab" * 28}, "lost": {"ip": "10.0.0.7", "id": None},
                     "unknown": {"ip": "10.0.0.7", "id": None}}
    clone = pickle.loads(pickle.dumps(cb))
    assert clone.node_of is _node_of
    clone.store.close()
    alone = StoreCallback(store, sweep="t", metric="m", mode="min", max_t=4)  # no lookup: the IP alone
    alone.on_trial_start(0, trials, trials[0])
    alone.on_trial_result(0, trials, trials[0], {"training_iteration": 1, "m": 1.0, "node_ip": "10.0.0.9"})
    alone.flush()
    assert store.trials("t")[0].node_info == {"ip": "10.0.0.9", "id": None}
    assert pickle.loads(pickle.dumps(alone)).node_of is None


def test_bad_mode_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match=r"^mode must be 'min' or 'max', got 'best'$"):
        StoreCallback(store, sweep="s", metric="m", mode="best", max_t=1)


# ------------------------------------------------------------------ other processes
def _write_sweep(url: str, sweep: str, trials: int, steps: int, pause: float, flush_s: float = 0.0) -> None:
    store = Store.open(url)
    cb = StoreCallback(store, sweep=sweep, metric="m", mode="min", max_t=steps, flush_every_s=flush_s)
    cb.setup()
    fakes = [FakeTrial(f"{sweep}-{i}", {"i": i}) for i in range(trials)]
    for trial in fakes:
        cb.on_trial_start(0, fakes, trial)
    for step in range(1, steps + 1):
        for trial in fakes:
            cb.on_trial_result(0, fakes, trial, {"training_iteration": step, "m": 1.0 / step})
        time.sleep(pause)
    for trial in fakes:
        cb.on_trial_complete(0, fakes, trial)
    cb.on_experiment_end(fakes)
    store.close()


def _spawn(*args: object) -> multiprocessing.process.BaseProcess:
    ctx = multiprocessing.get_context("spawn")  # no fork after Ray and SQLite were imported
    proc = ctx.Process(target=_write_sweep, args=args)
    proc.start()
    return proc


@pytest.mark.slow(seconds=5)
def test_a_reader_sees_consistent_rows_while_another_process_writes(store: Store) -> None:
    writer = _spawn(store.url, "live", 8, 30, 0.02)
    seen: list[int] = []

    def read_until_written() -> bool:
        if store.find_sweep("live") is not None:
            trials = store.trials("live")
            # Every committed trial row is whole: its iteration count matches its stored results.
            for record in trials[:2]:
                assert len(store.history(record.trial_id, sweep="live")) >= record.iterations
            seen.append(sum(t.iterations for t in trials))
        return not writer.is_alive()

    wait_for(read_until_written, timeout=60, every=0.05, what="the writer process to write its sweep and exit")
    writer.join(60)
    assert writer.exitcode == 0
    assert seen == sorted(seen), "progress never goes backwards"
    assert len(set(seen)) > 1, "the reader saw the sweep grow while it ran"
    assert store.counts("live") == {"running": 0, "completed": 8, "stopped_early": 0, "error": 0}


@pytest.mark.slow(seconds=5)
def test_two_writer_processes_both_land(store: Store) -> None:
    writers = [_spawn(store.url, name, 10, 25, 0.0) for name in ("w1", "w2")]
    for proc in writers:
        proc.join(120)
    assert [p.exitcode for p in writers] == [0, 0]
    for name in ("w1", "w2"):
        trials = store.trials(name)
        assert len(trials) == 10 and all(t.iterations == 25 and t.status == "completed" for t in trials)
    assert _rows(store) == (20, 20 * 25)


@pytest.mark.slow(seconds=5)
def test_a_driver_killed_mid_sweep_leaves_whole_rows_and_resume_keeps_counts_exact(store: Store) -> None:
    import os
    import signal

    writer = _spawn(store.url, "killed", 6, 200, 0.01)
    wait_for(lambda: store.find_sweep("killed") is not None and sum(t.iterations for t in store.trials("killed")) > 150,
             timeout=60, every=0.05, what="the writer to store more than 150 results before it is killed")
    os.kill(writer.pid, signal.SIGKILL)  # no flush, no finish_sweep: like a killed driver
    writer.join(30)
    trials = store.trials("killed")
    assert len(trials) == 6
    for record in trials:
        history = store.history(record.trial_id, sweep="killed")
        # The trial row and its results were committed together: they agree exactly.
        assert list(history["iteration"]) == list(range(1, record.iterations + 1))
        assert record.last_metric == pytest.approx(1.0 / record.iterations)
        assert record.status == "running"
    assert store.get_sweep("killed").status == "running"
    # Resume: a new driver restarts every trial from scratch and replays all its results.
    store.finish_sweep("killed", "interrupted")
    store.start_sweep(name="killed", spec_yaml=None, spec_hash=None, metric="m", mode="min", resumed=True)
    _write_sweep(store.url, "killed", 6, 200, 0.0, flush_s=1.0)
    assert store.counts("killed") == {"running": 0, "completed": 6, "stopped_early": 0, "error": 0}
    assert _rows(store) == (6, 6 * 200)
    assert store.get_sweep("killed").status == "running"


class _Ended:
    """What ``ended_early`` reads of a Ray trial: its stop criteria and last result."""

    def __init__(self, last: dict[str, float], stop: dict[str, float] | None = None) -> None:
        self.last_result, self.stopping_criterion = last, stop or {}


def test_trial_outcome_is_one_rule_in_the_stores_words() -> None:
    from hpo.results import OUTCOMES, iterations_reached, trial_outcome

    assert OUTCOMES == ("completed", "stopped_early", "error")
    assert trial_outcome(_Ended({"training_iteration": 8}), failed=True, reached=8, max_t=8) == "error"
    assert trial_outcome(_Ended({"training_iteration": 2}), failed=False, reached=2, max_t=8) == "stopped_early"
    assert trial_outcome(_Ended({"training_iteration": 8}), failed=False, reached=8, max_t=8) == "completed"
    assert trial_outcome(_Ended({"acc": 0.95}, {"acc": 0.9}), failed=False, reached=3, max_t=8) == "completed"
    assert trial_outcome(_Ended({"acc": 0.95}), failed=False, reached=3, max_t=8, stop={"acc": 0.9}) == "completed"
    assert trial_outcome(_Ended({}), failed=False, reached=None, max_t=None) == "completed"
    # The count: the last result's time_attr; the results counted stand in for training_iteration only.
    assert iterations_reached({"training_iteration": 3, "epoch": 6}, time_attr="epoch") == 6.0
    assert iterations_reached({"epoch": 6}) is None
    assert iterations_reached({"epoch": 6}, counted=2) == 2.0
    assert iterations_reached({"training_iteration": 1}, time_attr="epoch", counted=2) is None
    assert iterations_reached({"epoch": True}, time_attr="epoch") is None
    assert iterations_reached(None) is None


def test_ended_early_is_a_scheduler_stop_only() -> None:
    from hpo.results import ended_early

    assert ended_early(_Ended({"training_iteration": 2}), 2, max_t=8)
    assert not ended_early(_Ended({"training_iteration": 8}), 8, max_t=8)
    assert ended_early(_Ended({}), None, max_t=8)
    # a stop criterion met (Ray: result[key] >= value) is the trial's own end, not an early stop
    assert not ended_early(_Ended({"training_iteration": 3, "acc": 0.95}, {"acc": 0.9}), 3, max_t=8)
    assert ended_early(_Ended({"training_iteration": 3, "acc": 0.5}, {"acc": 0.9}), 3, max_t=8)
    # no max_t (FIFO): nothing is ever stopped early
    assert not ended_early(_Ended({"training_iteration": 1}), 1, max_t=None)
