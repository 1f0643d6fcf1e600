"""``hpo confirm`` on a real Ray: the top configs re-run with fresh seeds as a child sweep, the numbers
checked against the trainable's known noise, the child resumed, and the trainable's ``seed`` contract."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from click.testing import CliRunner

from hpo.search.cli.main import cli

FIFO = {"type": "fifo", "max_t": 2}


@pytest.mark.integration
@pytest.mark.slow(seconds=10)
def test_confirm_reruns_the_top_configs_with_fresh_seeds(ray_session: None, tmp_home: Path, make_spec) -> None:
    from toy import OPTIMUM_X, seed_noise

    from hpo.results import Store, confirmation, export_report
    from hpo.search import resume_sweep, run_sweep

    parent = run_sweep(make_spec(name="p", trainable="toy:noisy_declared", search={"num_samples": 4},
                                 scheduler=FIFO, fixed={"max_iter": 2}), progress="none")
    assert parent.status == "finished"
    store = Store.open()
    top = [t for t in store.trials("p") if t.status == "completed"][:2]

    ran = CliRunner().invoke(cli, ["confirm", "p", "--top", "2", "--seeds", "3", "-q"])
    assert ran.exit_code == 0, ran.output
    child = store.get_sweep("p-confirm")
    assert (child.parent, child.status, child.num_trials) == ("p", "finished", 6)
    rows = store.trials("p-confirm")
    assert sorted((t.config["x"], t.config["seed"]) for t in rows) == sorted(
        (t.config["x"], s) for t in top for s in (1, 2, 3))
    assert all(t.iterations == 2 and t.status == "completed" for t in rows)  # the full budget, no early stop

    expected = {t.trial_id: statistics.fmean((t.config["x"] - OPTIMUM_X) ** 2 + seed_noise(s, t.config["x"])
                                             for s in (1, 2, 3)) for t in top}
    found = confirmation(store, "p")
    assert found is not None
    assert {c.trial_id: c.mean for c in found.configs} == pytest.approx(expected)
    assert [c.trial_id for c in found.configs] == sorted(expected, key=expected.__getitem__)
    assert [c.original_rank for c in sorted(found.configs, key=lambda c: c.trial_id)] == [
        1 + [t.trial_id for t in top].index(c) for c in sorted(expected)]
    assert "p-confirm: the top 2 of p re-run with seeds 1, 2, 3 (loss, min; 95% intervals)" in ran.stdout
    assert found.verdict()[0] in ran.stdout and "sweep p-confirm finished: 6 trial(s)" in ran.stdout

    best = json.loads(CliRunner().invoke(cli, ["best", "p", "--confirmed", "--format", "json"]).stdout)
    assert best["best"]["trial_id"] == found.configs[0].trial_id
    assert json.loads(export_report("p", fmt="json").read_text())["confirmation"]["winner"] == best["winner"]

    # The child is a sweep like any other: resumed from Ray's state, with no row written twice.
    store.finish_sweep("p-confirm", "interrupted")
    resumed = resume_sweep("p-confirm", progress="none")
    assert resumed.status == "finished" and sum(resumed.counts.values()) == 6
    assert [len(store.history(t.trial_id, sweep="p-confirm")) for t in rows] == [2] * 6


@pytest.mark.integration
def test_confirm_through_the_api_with_an_undeclared_trainable(ray_session: None, tmp_home: Path, make_spec) -> None:
    from hpo.search import run_sweep
    from hpo.search.derive.confirm import confirm_sweep

    spec = make_spec(name="q", trainable="toy:noisy", search={"num_samples": 2}, scheduler=FIFO,
                     fixed={"max_iter": 1, "seed": 7})
    assert run_sweep(spec, progress="none").status == "finished"
    first = confirm_sweep("q", top=1, seeds=2, progress="none")
    assert first.outcome.name == "q-confirm" and first.exit_code == 0
    assert first.confirmation is not None and first.confirmation.seeds == (0, 1)  # the sweep's own seed 7 is not fresh
    again = confirm_sweep("q", top=2, seeds=2, progress="none")
    assert again.outcome.name == "q-confirm2" and sum(again.outcome.counts.values()) == 4
    assert again.confirmation is not None and len(again.confirmation.configs) == 2


@pytest.mark.integration
def test_a_trainable_that_takes_no_seed_is_refused(ray_session: None, tmp_home: Path, make_spec) -> None:
    from hpo.search import run_sweep

    for name, trainable, fixed in (("u", "toy:unseeded", {"max_iter": 1}), ("v", "toy:quadratic", {"max_iter": 1})):
        assert run_sweep(make_spec(name=name, trainable=trainable, search={"num_samples": 1}, scheduler=FIFO,
                                   fixed=fixed), progress="none").status == "finished"
    refused = CliRunner().invoke(cli, ["confirm", "u", "--top", "1", "-q"])
    assert (refused.exit_code, refused.stderr) == (
        2, "hpo confirm: trainable toy:unseeded takes no 'seed' config key; confirm re-runs each config with fresh "
           "seeds, so the trainable must accept 'seed'\n")
    refused = CliRunner().invoke(cli, ["confirm", "v", "--top", "1", "-q"])
    assert (refused.exit_code, refused.stderr) == (
        2, "hpo confirm: trainable toy:quadratic declares no config keys and sweep 'v' set no 'seed'; confirm re-runs "
           "each config with fresh seeds, so the trainable must take 'seed' (declare it, or set fixed.seed in the "
           "sweep)\n")


@pytest.mark.integration
def test_confirm_the_cifar_trainable(ray_session: None, tmp_home: Path) -> None:
    """The built-in trainable takes the fresh seeds: the same config gives another val_loss per seed."""
    from hpo.results import Store
    from hpo.search import run_sweep
    from hpo.search.derive.confirm import confirm_sweep
    from hpo.spaces import parse_spec

    spec = parse_spec({
        "name": "c10", "trainable": "cifar", "metric": "val_loss", "mode": "min",
        "search": {"algorithm": "grid", "num_samples": 1}, "scheduler": {"type": "fifo", "max_t": 1},
        "params": {"lr": {"type": "grid", "values": [0.05, 0.1]}},  # a grid param: a choice in the child
        "fixed": {"dataset": "synthetic", "subset": 400, "epochs": 1, "l1": 16, "l2": 16, "batch_size": 64,
                  "augment": False}})
    assert run_sweep(spec, progress="none").status == "finished"
    done = confirm_sweep("c10", top=1, seeds=2, progress="none")
    assert done.exit_code == 0 and done.confirmation is not None
    rows = Store.open().trials("c10-confirm")
    assert sorted(t.config["seed"] for t in rows) == [1, 2] and len({t.config["lr"] for t in rows}) == 1
    values = [t.last_metric for t in rows]
    assert values[0] != values[1]  # the seed reached the trainer: another init, data order and split
    assert done.confirmation.configs[0].mean == pytest.approx(sum(values) / 2)
