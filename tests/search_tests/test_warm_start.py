"""Warm start and extend on a real Ray: seeded from the store's rows, through the API and the CLI."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from hpo.search.cli.main import cli

FIFO = {"type": "fifo", "max_t": 2}


@pytest.mark.integration
def test_warm_start_and_extend(ray_session: None, tmp_home: Path, make_spec, caplog: pytest.LogCaptureFixture
                               ) -> None:
    from hpo.results import Store
    from hpo.search import extend_sweep, run_sweep

    first = run_sweep(make_spec(name="a", search={"algorithm": "hyperopt", "num_samples": 6},
                                scheduler=FIFO, fixed={"max_iter": 2}), progress="none")
    assert first.status == "finished"
    store = Store.open()
    earlier = store.trials("a")
    top = earlier[:4]
    outside = [t for t in top if t.config["x"] < 0.0]

    # A narrower space: the best 4 of sweep a seed TPE, those with x < 0 do not fit it.
    caplog.set_level(logging.WARNING, logger="hpo.search.engine.warm_start")
    narrow = {"x": {"type": "float", "low": 0.0, "high": 1.0}}
    warm = run_sweep(make_spec(name="b", search={"algorithm": "hyperopt", "num_samples": 2,
                                                 "warm_start": {"sweep": "a", "top_k": 4}},
                               scheduler=FIFO, params=narrow, fixed={"max_iter": 2}), progress="none")
    assert warm.status == "finished"
    line = next(r.getMessage() for r in caplog.records if r.name == "hpo.search.engine.warm_start")
    expected = f"warm start from sweep 'a': {4 - len(outside)} of 4 trial(s) seed the searcher"
    if outside:
        expected += (f"; {len(outside)} dropped, not fitting this space (params.x: {len(outside)}, e.g. "
                     f"{outside[0].config['x']!r} is not in the param (float 0.0 to 1.0))")
    assert line == expected
    assert len(store.trials("b")) == 2  # the seeds are evaluated points, not trials run again

    # Extend through the CLI: same sweep row, new trials appended, old rows untouched.
    before = {t.trial_id: (t.config, t.last_metric, t.iterations) for t in earlier}
    ran = CliRunner().invoke(cli, ["extend", "a", "--samples", "3", "-q"])
    assert ran.exit_code == 0, ran.output
    assert "sweep a finished: 9 trial(s)" in ran.stdout
    after = store.trials("a")
    assert len(after) == 9
    assert {t.trial_id: (t.config, t.last_metric, t.iterations) for t in after if t.trial_id in before} == before
    record = store.get_sweep("a")
    assert record.status == "finished" and record.plan["trials"] == 9
    assert Path(record.experiment_path).name == "a-ext1" and (tmp_home / "ray" / "a").is_dir()
    assert "search:\n  algorithm: hyperopt\n  num_samples: 6" in (record.spec_yaml or "")  # the spec stays

    # And through the API, a second time: the next experiment directory.
    outcome = extend_sweep("a", samples=1, progress="none")
    assert outcome.status == "finished" and sum(outcome.counts.values()) == 10
    assert Path(outcome.experiment_path).name == "a-ext2"


@pytest.mark.integration
def test_warm_start_and_extend_bad_input(ray_session: None, tmp_home: Path, make_spec, tmp_path: Path) -> None:
    from hpo.results import Store
    from hpo.search import run_sweep

    assert run_sweep(make_spec(name="done", scheduler=FIFO, search={"num_samples": 1}, fixed={"max_iter": 1}),
                     progress="none").status == "finished"
    spec = tmp_path / "w.yaml"
    text = ("name: w\ntrainable: toy:quadratic\nmetric: {metric}\nmode: min\n"
            "search: {{algorithm: random, num_samples: 1, warm_start: {{sweep: {source}}}}}\n"
            "params:\n  x: {{type: float, low: -1.0, high: 1.0}}\n")
    spec.write_text(text.format(metric="loss", source="nope"))
    result = CliRunner().invoke(cli, ["sweep", str(spec), "-q"])
    assert result.exit_code == 2
    assert result.stderr.startswith("hpo sweep: search.warm_start.sweep: no sweep 'nope' in sqlite:///")
    assert result.stderr.endswith("; `hpo ls` lists the sweeps\n")

    spec.write_text(text.format(metric="other", source="done"))
    result = CliRunner().invoke(cli, ["sweep", str(spec), "-q"])
    assert result.exit_code == 2
    assert result.stderr == ("hpo sweep: search.warm_start.sweep: sweep 'done' optimised loss (min), this one other "
                             "(min); warm start only from a sweep of the same metric and mode\n")

    Store.open().start_sweep(name="busy", spec_yaml=None, spec_hash=None, metric="loss", mode="min")
    result = CliRunner().invoke(cli, ["extend", "busy", "--samples", "1"])
    assert result.exit_code == 2
    assert result.stderr == "hpo extend: sweep 'busy' is still running; extend it once it has finished\n"


@pytest.mark.integration
def test_optuna_extend_seeds_the_sampler_with_every_earlier_result(ray_session: None, tmp_home: Path,
                                                                     make_spec) -> None:
    from hpo.results import Store
    from hpo.search import extend_sweep, run_sweep

    spec = make_spec(name="opt-ext", search={"algorithm": "optuna", "num_samples": 3, "seed": 0},
                     scheduler={"type": "fifo", "max_t": 2}, fixed={"max_iter": 2})
    assert run_sweep(spec, home=tmp_home, progress="none").status == "finished"
    outcome = extend_sweep("opt-ext", samples=2, home=tmp_home, progress="none")
    assert outcome.status == "finished"
    trials = Store.open(home=tmp_home).trials("opt-ext")
    assert len(trials) == 5 and all(t.status == "completed" for t in trials)
