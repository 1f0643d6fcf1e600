"""``hpo refine``: the next spec from a finished sweep, each change commented with its numbers; refused
inputs in one line; and a refined spec run by ``hpo sweep`` on a real Ray."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from store_rows import fill_sweep

from hpo.results import Store, param_importance
from hpo.search.cli.main import cli
from hpo.search.derive.refine import refine_spec
from hpo.search.engine.driver import this_host
from hpo.search.errors import SweepInputError
from hpo.spaces import parse_spec

WIDE = """\
name: wide
trainable: cifar
metric: loss
mode: min
search: {algorithm: random, num_samples: 12, seed: 5}
scheduler: {type: fifo, max_t: 1}
params:
  x: {type: float, low: -1.0, high: 1.0}
  lr: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}
  width: {type: pow2, low: 4, high: 256}
  opt: {type: choice, values: [sgd, adamw, lion]}
  junk: {type: int, low: 0, high: 100}
fixed: {epochs: 1}
"""
# x and lr decide the loss; the top 3 (25% of 12) have x in [0.25, 0.35] and lr in [0.001, 0.003].
ROWS = [(0.25, 0.001, 32, "sgd", 10, 0.10), (0.30, 0.003, 64, "adamw", 90, 0.11), (0.35, 0.002, 32, "sgd", 50, 0.12),
        (-0.9, 0.0001, 4, "lion", 20, 0.90), (-0.5, 0.05, 256, "adamw", 80, 0.80), (0.9, 0.09, 8, "lion", 30, 0.85),
        (-0.2, 0.0003, 128, "sgd", 70, 0.60), (0.6, 0.02, 16, "adamw", 40, 0.65), (-0.7, 0.007, 256, "lion", 60, 0.75),
        (0.8, 0.0002, 4, "sgd", 0, 0.70), (0.0, 0.04, 128, "adamw", 100, 0.55), (-0.4, 0.0005, 8, "lion", 15, 0.95)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(home=tmp_path / "runs")
    yield opened
    opened.close()


def _wide(store: Store, name: str = "wide", status: str = "finished", spec: str = WIDE) -> None:
    trials = {f"t{i}": ({"x": x, "lr": lr, "width": w, "opt": o, "junk": j, "epochs": 1}, [v], "complete")
              for i, (x, lr, w, o, j, v) in enumerate(ROWS)}
    fill_sweep(store, name, spec.replace("name: wide", f"name: {name}"), trials, status=status)


def test_refine_narrows_drops_and_freezes_with_its_reasons(store: Store) -> None:
    _wide(store)
    found = param_importance(store, "wide")[0].values
    done = refine_spec("wide", store=store)
    text = done.text
    assert text.startswith("# refined from sweep 'wide' by `hpo refine wide` on ")
    assert ": 12 finished trials, the top 3 (25%) by loss (min) are the good region; best loss 0.1 (trial t0)\n" \
           "# importance: PED-ANOVA at iteration 1 over 12 trials (the report's rung with the most trials); params " \
           "below 0.05 are frozen\nname: wide-refined\n" in text
    assert ("# warm start from 'wide': its 12 finished trials seed the searcher (those outside the new ranges are "
            "dropped)\n# optuna (was random): a random or grid warm start would re-run the earlier trials; optuna "
            "learns from them\nsearch:\n  algorithm: optuna\n") in text
    assert ("params:\n"
            "  # narrowed: the top 3 lie in [0.25, 0.35]; was [-1, 1]; now 6% of the old width\n"
            "  x: {type: float, low: 0.24, high: 0.36}\n"
            "  # narrowed: the top 3 lie in [0.001, 0.003]; was [0.0001, 0.1], log; now 19% of the old log-width\n"
            "  lr: {type: float, low: 0.000895, high: 0.00335, log: true}\n"
            "fixed:\n  epochs: 1\n") in text
    assert (f"  # frozen at the best trial's value: importance {found['width']:.3f} < 0.05 (else narrowed: the top 3 "
            "lie in [32, 64]; was [4, 256] (pow2))\n  width: 32\n") in text
    assert (f"  # frozen at the best trial's value: importance {found['junk']:.3f} < 0.05 (else kept: the top 3 lie "
            "in [10, 90], most of the range (was [0, 100]))\n  junk: 10\n") in text
    spec = done.spec
    assert spec.to_dict() == parse_spec(yaml.safe_load(text)).to_dict()  # the text is the spec
    assert (spec.name, spec.search.algorithm, spec.search.seed, spec.search.warm_start.sweep) == (
        "wide-refined", "optuna", 6, "wide")
    assert set(spec.params) == {"x", "lr"} and spec.fixed == {"epochs": 1, "width": 32, "opt": "sgd", "junk": 10}
    assert [(c.path, c.kind) for c in done.changes] == [("x", "narrowed"), ("lr", "narrowed"), ("width", "frozen"),
                                                       ("opt", "frozen"), ("junk", "frozen")]

    kept_more = refine_spec("wide", store=store, freeze_below=0.01, samples=20, child="next")
    assert ("  # narrowed: the top 3 lie in [32, 64]; was [4, 256] (pow2)\n  width: {type: pow2, low: 32, high: 64}\n"
            "  # dropped lion: not in the top 3 (sgd: 2, adamw: 1)\n  opt: {type: choice, values: [sgd, adamw]}\n"
            ) in kept_more.text
    assert (kept_more.spec.name, kept_more.spec.search.num_samples) == ("next", 20)


def test_refine_refuses_bad_input_in_one_line(store: Store) -> None:
    few = {f"t{i}": ({"x": 0.1 * i, "lr": 0.001, "width": 8, "opt": "sgd", "junk": 1, "epochs": 1}, [1.0 - 0.1 * i],
                     "complete") for i in range(9)}
    fill_sweep(store, "few", WIDE.replace("name: wide", "name: few"), few)

    def refused(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["refine", *args, "--store", store.url])
        return result.exit_code, result.stderr

    assert refused("few") == (2, "hpo refine: sweep 'few' has 9 finished trial(s) with a loss; refine needs at least "
                                 "10 to tell a good region from luck (`hpo extend few --samples N` adds trials)\n")
    _wide(store, "live", status="running")
    store.set_driver("live", host=this_host(), pid=os.getpid())
    assert refused("live") == (2, "hpo refine: sweep 'live' is still running; refine it once it has finished\n")
    two = WIDE.replace("metric: loss\nmode: min\n", "metrics: [{name: loss, mode: min}, {name: cost, mode: max}]\n")
    _wide(store, "two", spec=two)
    assert refused("two") == (2, "hpo refine: sweep 'two' has several objectives (loss, cost): there is no single top "
                                 "quantile to narrow to; `hpo extend two --samples N` goes on searching its Pareto "
                                 "front instead\n")
    _wide(store, "pbt", spec=WIDE.replace("type: fifo, max_t: 1", "type: pbt, max_t: 4"))
    assert refused("pbt") == (2, "hpo refine: sweep 'pbt' ran pbt: its trials' configs changed as they trained, so a "
                                 "config does not explain a score; refine needs a sweep of fixed configs\n")
    _wide(store, "conf", spec=WIDE + "confirm: {sweep: wide, top: 2, seeds: [1, 2]}\n")
    assert refused("conf") == (2, "hpo refine: sweep 'conf' is a confirmation of 'wide' (a few configs re-run); refine "
                                  "'wide' instead\n")
    _wide(store)
    assert refused("wide", "--quantile", "0") == (2, "hpo refine: --quantile must be in (0, 1], got 0.0\n")
    with pytest.raises(SweepInputError, match=r"^--quantile must be in"):
        refine_spec("wide", store=store, quantile=1.5)


@pytest.mark.integration
def test_a_refined_spec_runs(ray_session: None, tmp_home: Path, make_spec, tmp_path: Path) -> None:
    from hpo.search import run_sweep

    parent = make_spec(name="first", search={"num_samples": 10}, scheduler={"type": "fifo", "max_t": 1},
                       params={"x": {"type": "float", "low": -1.0, "high": 1.0}, "y": {"type": "float", "low": 0.0,
                                                                                        "high": 1.0}},
                       fixed={"max_iter": 1})
    assert run_sweep(parent, progress="none").status == "finished"
    target = tmp_path / "next.yaml"
    wrote = CliRunner().invoke(cli, ["refine", "first", "-o", str(target), "--samples", "2"])
    assert wrote.exit_code == 0, wrote.output
    assert wrote.stdout.startswith(f"wrote {target}: sweep first-refined from first's top 3 of 10 trials (params: ")
    refined = yaml.safe_load(target.read_text())
    ran = CliRunner().invoke(cli, ["sweep", str(target), "-q"])
    assert ran.exit_code == 0, ran.output
    store = Store.open()
    trials = store.trials("first-refined")
    assert len(trials) == 2 and all(t.status == "completed" for t in trials)
    x = refined["params"].get("x")
    if isinstance(x, dict):  # narrowed (x decides the loss, so it is not frozen)
        assert all(x["low"] <= t.config["x"] <= x["high"] for t in trials)
    assert store.get_sweep("first-refined").spec_yaml is not None
