"""A sweep that can make no progress ends within a bounded time, says why, and resumes later."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from harness import wait_for

from hpo.search import resume_sweep, run_sweep
from hpo.search.cli.main import cli
from hpo.search.engine.stall import DEFAULT_STALL_TIMEOUT_S, ClusterView, diagnose, stall_timeout
from hpo.search.errors import SweepInputError

TWO_NODES = ClusterView(
    nodes=({"CPU": 2.0, "GPU": 0.0}, {"CPU": 4.0, "GPU": 1.0}),
    free={"CPU": 1.0, "GPU": 1.0},
    total={"CPU": 6.0, "GPU": 1.0},
)


def test_a_resource_no_node_has_is_named_with_the_largest_node() -> None:
    assert diagnose({"CPU": 8.0, "GPU": 0.0}, TWO_NODES, waited_s=300, name="s") == (
        "no trial could start for 300 s: each trial asks for 8 CPU, but no node of the Ray cluster has that "
        "much CPU (largest: 4 CPU); add a node that has them, or lower resources, then `hpo resume s`"
    )


def test_resources_no_single_node_has_together() -> None:
    view = ClusterView(nodes=({"CPU": 4.0}, {"CPU": 1.0, "GPU": 1.0}), free={}, total={})
    assert diagnose({"CPU": 2.0, "GPU": 1.0}, view, waited_s=60, name="s") == (
        "no trial could start for 60 s: each trial asks for 2 CPU and 1 GPU, but no node of the Ray cluster "
        "has them together; add a node that has them, or lower resources, then `hpo resume s`"
    )


def test_resources_held_by_other_work_are_counted_free_of_total() -> None:
    assert diagnose({"CPU": 2.0}, TWO_NODES, waited_s=300, name="s") == (
        "no trial could start for 300 s: each trial asks for 2 CPU, but the Ray cluster has 1 of 6 CPU free "
        "(held by other work); free them, then `hpo resume s`"
    )


def test_free_resources_yet_nothing_placed_blames_the_scheduler() -> None:
    assert diagnose({"CPU": 1.0}, TWO_NODES, waited_s=300, name="s") == (
        "no trial could start for 300 s: each trial asks for 1 CPU; the Ray cluster has them free (1 CPU) "
        "but Ray Tune placed no trial; then `hpo resume s` to try again"
    )


def test_an_actor_that_never_starts_is_named() -> None:
    assert diagnose({"CPU": 1.0}, TWO_NODES, waited_s=1200, name="s", starting=True) == (
        "no trial could start for 1200 s: each trial asks for 1 CPU; Ray reserved them but the trial's actor "
        "never started (a Trainable whose setup() does not return?); fix it, then `hpo resume s`"
    )


def test_stall_timeout_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HPO_STALL_TIMEOUT_S", raising=False)
    assert stall_timeout() == DEFAULT_STALL_TIMEOUT_S
    monkeypatch.setenv("HPO_STALL_TIMEOUT_S", "2.5")
    assert stall_timeout() == 2.5
    monkeypatch.setenv("HPO_STALL_TIMEOUT_S", "0")
    assert stall_timeout() is None
    monkeypatch.setenv("HPO_STALL_TIMEOUT_S", "-1")
    with pytest.raises(SweepInputError) as err:
        stall_timeout()
    assert str(err.value) == "HPO_STALL_TIMEOUT_S: expected seconds >= 0 (0 never ends a stalled sweep), got '-1'"


def test_a_bad_stall_timeout_exits_2_with_one_line(
    tmp_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    monkeypatch.setenv("HPO_STALL_TIMEOUT_S", "soon")
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({"name": "stall", "trainable": "toy:quadratic", "metric": "loss", "mode": "min",
                                    "params": {"x": {"type": "float", "low": -1.0, "high": 1.0}}}))
    result = CliRunner().invoke(cli, ["sweep", str(spec), "-q"])
    assert result.exit_code == 2, result.output
    assert result.output == (
        "hpo sweep: HPO_STALL_TIMEOUT_S: expected seconds >= 0 (0 never ends a stalled sweep), got 'soon'\n"
    )


@pytest.mark.slow
@pytest.mark.integration
def test_a_sweep_whose_cpus_other_work_holds_fails_with_why_and_resumes_once_they_are_free(
    ray_session: None, tmp_home: Path, make_spec, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ray

    from hpo.results import Store

    monkeypatch.setenv("HPO_STALL_TIMEOUT_S", "5")
    monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "1")  # Tune's snapshot, which the stall waits for

    @ray.remote(num_cpus=2)
    class Holder:  # another job on the same cluster, holding every CPU
        def ready(self) -> bool:
            return True

    holder = Holder.remote()
    try:
        ray.get(holder.ready.remote(), timeout=60)
        spec = make_spec(
            name="held",
            scheduler={"type": "fifo", "max_t": 2},
            search={"algorithm": "random", "num_samples": 3, "seed": 0},
            fixed={"max_iter": 2},
        )
        outcome = run_sweep(spec, progress="none")
        why = (
            "no trial could start for 5 s: each trial asks for 1 CPU, but the Ray cluster has 0 of 2 CPU free "
            "(held by other work); free them, then `hpo resume held`"
        )
        assert (outcome.status, outcome.exit_code, outcome.reason) == ("failed", 1, why)
        store = Store.open(home=tmp_home)
        assert store.get_sweep("held").status == "failed"

        result = CliRunner().invoke(cli, ["resume", "held", "-q"])  # still held: stalls again
        assert result.exit_code == 1, result.output
        assert result.stderr == f"hpo: sweep held stalled: {why}\n"
    finally:
        ray.kill(holder)
    wait_for(lambda: ray.available_resources().get("CPU", 0) >= 2, timeout=30, every=0.1,
             what=lambda: f"the holder's CPU back in Ray (available: {ray.available_resources()})")

    outcome = resume_sweep("held", home=tmp_home, progress="none")
    assert outcome.status == "finished" and outcome.reason is None
    assert outcome.counts["completed"] == 3
    assert store.get_sweep("held").status == "finished"


@pytest.mark.slow
@pytest.mark.integration
def test_a_trainable_whose_setup_never_returns_ends_the_sweep(
    ray_session: None, tmp_home: Path, make_spec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HPO_STALL_TIMEOUT_S", "2")  # an actor still building gets 4x that: 8 s
    monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "1")
    spec = make_spec(
        name="hung",
        trainable="toy:HangingSetupClass",
        scheduler={"type": "fifo", "max_t": 2},
        search={"algorithm": "random", "num_samples": 1, "seed": 0},
    )
    outcome = run_sweep(spec, progress="none")
    assert (outcome.status, outcome.exit_code) == ("failed", 1)
    assert outcome.reason == (
        "no trial could start for 8 s: each trial asks for 1 CPU; Ray reserved them but the trial's actor "
        "never started (a Trainable whose setup() does not return?); fix it, then `hpo resume hung`"
    )
