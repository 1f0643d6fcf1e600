"""``algorithm: optuna``: samplers, conditional spaces with warm points, several objectives (real Ray)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from hpo.results import Store
from hpo.search import run_sweep
from hpo.search.cli.main import cli
from hpo.search.searchers.build import make_searcher

_CONDITIONAL = {
    "x": {"type": "float", "low": -1.0, "high": 1.0},
    "opt": {"type": "choice", "values": [
        {"name": "sgd", "momentum": {"type": "float", "low": 0.8, "high": 0.99}},
        {"name": "adamw", "wd": {"type": "float", "low": 1.0e-6, "high": 1.0e-2, "log": True}},
    ]},
    "batch": {"type": "choice", "values": [16, 32, 64]},
}
_WARM = {"x": 0.3, "opt": {"name": "adamw", "wd": 1.0e-3}, "batch": 32}


def test_conditional_space_gives_only_the_chosen_groups_keys_and_warm_points_first(make_spec) -> None:
    spec = make_spec(search={"algorithm": "optuna", "seed": 0, "points_to_evaluate": [_WARM]}, params=_CONDITIONAL)
    alg = make_searcher(spec, max_concurrent=2)
    assert alg.suggest("t0") == _WARM
    seen = set()
    for i in range(1, 12):
        config = alg.suggest(f"t{i}")
        alg.on_trial_complete(f"t{i}", {"loss": float(i), "training_iteration": 1})
        opt = config["opt"]
        assert set(opt) == ({"name", "momentum"} if opt["name"] == "sgd" else {"name", "wd"})
        assert set(config) == {"x", "opt", "batch"} and config["batch"] in (16, 32, 64)
        seen.add(opt["name"])
    assert seen == {"sgd", "adamw"}


def test_the_same_seed_gives_the_same_configs(make_spec) -> None:
    spec = make_spec(search={"algorithm": "optuna", "seed": 4}, params=_CONDITIONAL)
    runs = [[make_searcher(spec, max_concurrent=2).suggest(f"t{i}") for i in range(3)] for _ in range(2)]
    assert runs[0] == runs[1]


@pytest.mark.integration
@pytest.mark.parametrize("sampler", ["tpe", "cmaes", "nsga2", "gp", "random"])
def test_each_sampler_runs_a_sweep(ray_session: None, tmp_home: Path, make_spec, sampler: str) -> None:
    spec = make_spec(name=f"opt-{sampler}", search={"algorithm": "optuna", "sampler": sampler, "num_samples": 6},
                     scheduler={"type": "fifo", "max_t": 2}, fixed={"max_iter": 2})
    outcome = run_sweep(spec, progress="none")
    assert outcome.status == "finished" and outcome.counts["completed"] == 6
    assert outcome.best is not None and -1.0 <= outcome.best.config["x"] <= 1.0


@pytest.mark.integration
def test_conditional_space_and_warm_point_under_optuna_with_asha(ray_session: None, tmp_home: Path,
                                                                make_spec) -> None:
    spec = make_spec(name="opt-cond", search={"algorithm": "optuna", "num_samples": 6, "points_to_evaluate": [_WARM]},
                     params=_CONDITIONAL, fixed={"max_iter": 4}, scheduler={"max_t": 4})
    outcome = run_sweep(spec, progress="none")
    assert outcome.status == "finished"
    configs = [t.config for t in Store.open().trials("opt-cond")]
    assert len(configs) == 6
    assert {**_WARM, "max_iter": 4} in configs
    # The warm point sits at the optimum of x: nothing can beat its loss.
    assert outcome.best is not None and outcome.best.config["x"] == 0.3


_MULTI: dict[str, Any] = {
    "name": "pareto",
    "trainable": "toy:two_objectives",
    "metrics": [{"name": "loss", "mode": "min"}, {"name": "cost", "mode": "min"}],
    "search": {"algorithm": "optuna", "sampler": "nsga2", "num_samples": 8, "seed": 0},
    "scheduler": {"type": "fifo", "max_t": 1},
    "resources": {"cpu": 1, "gpu": 0},
    "params": {"x": {"type": "float", "low": -1.0, "high": 1.0}},
    "fixed": {"max_iter": 1},
}


def _dominated(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["loss"] >= b["loss"] and a["cost"] >= b["cost"] and (a["loss"] > b["loss"] or a["cost"] > b["cost"])


@pytest.mark.integration
def test_several_objectives_end_to_end_through_the_cli(ray_session: None, tmp_home: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    path = tmp_path / "pareto.yaml"
    path.write_text(yaml.safe_dump(_MULTI))
    result = CliRunner().invoke(cli, ["sweep", str(path), "-q"])
    assert result.exit_code == 0, result.output

    store = Store.open()
    record = store.get_sweep("pareto")
    assert record.plan["objectives"] == [["loss", "min"], ["cost", "min"]]
    trials = store.trials("pareto")
    assert len(trials) == 8 and all({"loss", "cost"} <= set(t.last_result) for t in trials)

    best = CliRunner().invoke(cli, ["best", "pareto", "--format", "json"])
    assert best.exit_code == 0, best.output
    data = json.loads(best.output)
    assert data["objectives"] == [{"name": "loss", "mode": "min"}, {"name": "cost", "mode": "min"}]
    front = data["pareto"]
    values = {t.trial_id: {"loss": t.last_result["loss"], "cost": t.last_result["cost"]} for t in trials}
    on_front = {t["trial_id"] for t in front}
    # Exactly the non-dominated trials: none on the front is dominated, every trial off it is.
    assert on_front and all(not _dominated(values[i], values[j]) for i in on_front for j in values)
    assert all(any(_dominated(values[i], values[j]) for j in on_front) for i in set(values) - on_front)
    assert all(t["objectives"] == values[t["trial_id"]] for t in front)
    assert [t["objectives"]["loss"] for t in front] == sorted(t["objectives"]["loss"] for t in front)

    table = CliRunner().invoke(cli, ["best", "pareto"])
    assert table.exit_code == 0 and f"Pareto set of pareto: {len(front)} trials" in table.output

    out = tmp_path / "pareto.html"
    report = CliRunner().invoke(cli, ["report", "pareto", "-o", str(out)])
    assert report.exit_code == 0, report.output
    html = out.read_text()
    assert 'id="plot-pareto"' in html and "Pareto front" in html
