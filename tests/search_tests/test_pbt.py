"""PBT on a real Ray: exploits are recorded as lineage, and the cifar trainable trains with the
mutated hyperparameters after it took another trial's checkpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hpo.spaces import parse_spec

PBT_CIFAR: dict[str, Any] = {
    "name": "pbt",
    "trainable": "cifar",
    "metric": "val_loss",  # no ties between the two trials (val_acc on 80 images often has them)
    "mode": "min",
    "search": {"algorithm": "random", "num_samples": 2, "seed": 3},
    "scheduler": {"type": "pbt", "max_t": 4, "perturbation_interval": 1, "quantile_fraction": 0.5,
                  "resample_probability": 0.0,
                  "synch": True},  # both trials meet at every epoch, so exploits happen whatever the timing
    "resources": {"cpu": 1, "gpu": 0},
    "params": {"lr": {"type": "float", "low": 1.0e-3, "high": 1.0, "log": True}},
    "fixed": {"dataset": "synthetic", "subset": 400, "epochs": 4, "l1": 16, "l2": 16, "batch_size": 64,
              "schedule": "constant", "augment": False, "optimizer": "sgd"},
}


def _mutated_lrs(experiment: Path) -> list[float]:
    """Ray's own record of the exploits (pbt_global.txt): the lr of every new config."""
    return [json.loads(line)[-1]["lr"] for line in (experiment / "pbt_global.txt").read_text().splitlines()]


def _clip(lr: float) -> float:
    low, high = PBT_CIFAR["params"]["lr"]["low"], PBT_CIFAR["params"]["lr"]["high"]
    return min(max(lr, low), high)


@pytest.mark.slow
@pytest.mark.integration
def test_pbt_applies_the_mutated_lr_and_records_the_lineage(ray_session: None, tmp_home: Path) -> None:
    from hpo.results import Store, export_report
    from hpo.search import run_sweep

    outcome = run_sweep(parse_spec(PBT_CIFAR), progress="none")
    assert outcome.status == "finished", outcome.first_error
    assert outcome.plan is not None and outcome.plan.exploits and outcome.plan.mutations == ("lr",)
    store = Store.open()
    lineage = store.lineage("pbt")
    assert lineage, "two trials, an exploit every epoch: at least one must have happened"
    mutated = _mutated_lrs(Path(outcome.experiment_path))
    for event in lineage:
        history = store.history(event.trial_id, sweep="pbt").set_index("iteration")
        row = history.loc[event.iteration]
        assert event.iteration == int(event.from_step) + 1  # it went on from the donor's checkpoint
        # The lr in effect (the trainer's, reported per epoch) is the mutated one, not the donor's.
        assert any(row["lr"] == pytest.approx(lr) for lr in mutated)
        donor = store.history(event.from_trial, sweep="pbt").set_index("iteration")
        donor_lr = donor.loc[int(event.from_step), "lr"]
        assert row["lr"] != pytest.approx(donor_lr)
        assert any(row["lr"] == pytest.approx(_clip(donor_lr * f)) for f in (0.8, 1.2))
    trials = {t.trial_id: t for t in store.trials("pbt")}
    assert {t.status for t in trials.values()} == {"completed"}  # PBT stops no trial early
    report = export_report("pbt", fmt="md", path=tmp_home / "pbt.md")
    text = Path(report).read_text()
    assert "## Lineage (PBT)" in text
    first = lineage[0]
    assert f"| {first.trial_id} | {first.from_trial} |".replace("_", "\\_") in text


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["pbt", "pb2"])
def test_exploits_of_a_declared_function_trainable(ray_session: None, tmp_home: Path, make_spec, kind: str) -> None:
    from hpo.results import Store
    from hpo.search import run_sweep

    spec = make_spec(name=kind, trainable="toy:exploitable", search={"num_samples": 2},
                     scheduler={"type": kind, "max_t": 4, "perturbation_interval": 1, "quantile_fraction": 0.5,
                                "synch": True}, fixed={"max_iter": 4})
    outcome = run_sweep(spec, progress="none")
    assert outcome.status == "finished", outcome.first_error
    lineage = Store.open().lineage(kind)
    assert lineage and all(e.from_trial != e.trial_id for e in lineage)
    configs = {t.trial_id: t.config["x"] for t in Store.open().trials(kind)}
    assert all(-1.0 <= x <= 1.0 for x in configs.values())  # mutated values stay in the param's bounds


@pytest.mark.integration
def test_a_trial_that_hangs_under_pbt_is_ended_retried_and_recorded(
    ray_session: None, tmp_home: Path, tmp_path: Path, make_spec
) -> None:
    """failures.report_timeout under PBT: the hanging trial (the better one: it is only ever a donor) is
    ended twice and recorded as timed out; the other trial, exploiting its checkpoints, completes."""
    from toy_limits import hung_runs

    from hpo.results import Store
    from hpo.search import run_sweep

    spec = make_spec(name="hangs-pbt", trainable="toy_limits:hangs_after_two", search={"num_samples": 2},
                     scheduler={"type": "pbt", "max_t": 6, "perturbation_interval": 3, "quantile_fraction": 0.5},
                     failures={"max_retries": 1, "report_timeout": "4s"},
                     fixed={"max_iter": 6, "out_dir": str(tmp_path), "penalty": 1.0})
    outcome = run_sweep(spec, progress="none")
    hung = (tmp_path / "hang.claim").read_text()
    trials = {t.trial_id: t for t in Store.open().trials("hangs-pbt")}
    assert (trials[hung].status, trials[hung].iterations) == ("error", 4)
    assert trials[hung].error == "timed out: no result for 4 s after iteration 4 (failures.report_timeout)"
    assert [(t.status, t.iterations) for i, t in trials.items() if i != hung] == [("completed", 6)]
    files, alive = hung_runs(tmp_path)
    assert (files, alive) == ([f"pids-{hung}-2.txt", f"pids-{hung}-4.txt"], [])
    assert (outcome.status, outcome.counts["error"]) == ("finished", 1)
