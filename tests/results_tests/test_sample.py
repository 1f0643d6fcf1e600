"""Past SAMPLE_ABOVE trials the plots draw the best trials and a fixed sample, and importance reads that sample;
the tables, the best trial and the JSON report keep every trial, and best-so-far stays exact."""

from __future__ import annotations

import dataclasses
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from store_rows import FakeTrial

from hpo.results import Store, StoreCallback, export_report
from hpo.results.analysis.sample import SAMPLE_SIZE, SAMPLE_TOP, sample_trials
from hpo.results.dashboard._pages import sweep_main
from hpo.results.report.data import ReportData, gather
from hpo.results.report.figure import hit_maps
from hpo.results.report.html import render_html
from hpo.results.report.plots import all_plots, best_steps
from hpo.results.store.records import TrialRecord

SPEC = """\
name: big
trainable: cifar
metric: loss
mode: min
search: {algorithm: random, num_samples: 2000, max_concurrent: 8, seed: 0}
scheduler: {type: asha, max_t: 4, grace_period: 1, reduction_factor: 2}
params:
  x: {type: float, low: 0.0, high: 1.0}
  lr: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}
  opt: {type: choice, values: [sgd, adamw]}
"""


def _fill(store: Store, name: str, trials: int) -> None:
    """``trials`` trials, 8 at a time as a sweep runs them (each batch starts after the last one reported):
    up to 4 results each, a quarter stopped early at a rung, one in 50 errored."""
    from hpo.spaces import build_plan, parse_spec

    spec = SPEC.replace("name: big", f"name: {name}")
    plan = dataclasses.replace(build_plan(parse_spec(yaml.safe_load(spec))), name=name)
    store.start_sweep(name=name, spec_yaml=spec, spec_hash="h" * 16, metric="loss", mode="min", max_t=4,
                      plan=plan.to_dict())
    callback = StoreCallback(store, sweep=name, metric="loss", mode="min", max_t=4)
    callback.setup()
    rng = random.Random(0)
    fakes = [FakeTrial(f"t{i:05d}", {"x": rng.random(), "lr": 10 ** rng.uniform(-4, -1),
                                     "opt": rng.choice(["sgd", "adamw"])}) for i in range(trials)]
    for first in range(0, trials, 8):
        batch = fakes[first:first + 8]
        for trial in batch:
            callback.on_trial_start(0, fakes, trial)
        for step in range(1, 5):
            for n, trial in enumerate(batch):
                if step > 2 and (first + n) % 4 == 1:
                    continue  # stopped at rung 2
                quality = (trial.config["x"] - 0.3) ** 2 + rng.random() * 0.1
                callback.on_trial_result(0, fakes, trial, {"training_iteration": step, "loss": quality + 1 / step,
                                                           "config": trial.config, "done": False})
        for n, trial in enumerate(batch):
            if (first + n) % 50 == 7:
                callback.on_trial_error(0, fakes, trial)
            else:
                callback.on_trial_complete(0, fakes, trial)
    callback.on_experiment_end(fakes)
    store.finish_sweep(name, "finished")


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, ReportData, dict[str, str]]]:
    """2,000 trials on SQLite, gathered, and drawn with hit maps (as the dashboard draws them)."""
    store = Store.open(home=tmp_path_factory.mktemp("big") / "runs")
    _fill(store, "big", 2000)
    data = gather(store, "big")
    with hit_maps():
        plots = all_plots(data)
    yield store, data, plots
    store.close()


def _record(trial_id: str, value: float) -> TrialRecord:
    return TrialRecord(sweep="s", trial_id=trial_id, config={}, status="completed", last_metric=value)


def _hits(svg: str) -> dict[str, Any]:
    found = re.search(r"<svg data-hits='([^']*)'", svg)
    assert found, "no hit map"
    return json.loads(found.group(1).replace("&#39;", "'").replace("&amp;", "&"))


def test_up_to_the_threshold_every_trial_is_drawn_past_it_the_best_and_a_fixed_sample() -> None:
    small = [_record(f"t{i}", i) for i in range(1000)]
    whole = sample_trials(small)
    assert (whole.drawn, whole.picked, whole.sampled, whole.note()) == (small, small, False, "")

    trials = [_record(f"t{i}", i) for i in range(1500)]  # best first
    sample = sample_trials(trials)
    assert sample.sampled and len(sample.picked) == SAMPLE_SIZE and sample.total == 1500
    assert trials[:SAMPLE_TOP] == sample.drawn[:SAMPLE_TOP]  # the best always, in order
    assert sample.drawn == [t for t in trials if t in sample.drawn]  # best first, as given
    assert {t.trial_id for t in sample.picked} <= {t.trial_id for t in sample.drawn}
    # Chosen by the ids' hash: the same trials whatever the order, and one more trial moves at most one.
    again = sample_trials(list(reversed(trials)))
    assert {t.trial_id for t in again.picked} == {t.trial_id for t in sample.picked}
    grown = sample_trials([*trials, _record("t9999", 9999.0)])
    assert len({t.trial_id for t in sample.picked} - {t.trial_id for t in grown.picked}) <= 1
    assert sample.note() == ("1,500 trials: the plots draw " f"{len(sample.drawn):,} of them, a fixed sample of "
                             "1,000 and the best 20 (the same trials in every plot); importance is estimated on "
                             "that sample. The tables list every trial.")
    # A sweep's Pareto set is drawn whole, whatever the hash.
    front = [t.trial_id for t in trials if t not in sample.drawn][:3]
    kept = sample_trials(trials, keep=front)
    assert set(front) <= {t.trial_id for t in kept.drawn} and kept.picked == sample.picked
    assert ", a fixed sample of 1,000 and the best 20, the Pareto set (3) (the same" in kept.note()


def test_a_big_sweep_reads_every_trial_but_only_the_drawn_trials_results(big: tuple[Store, ReportData, Any]) -> None:
    store, data, _ = big
    assert len(data.trials) == 2000 and data.sampled and data.best is data.trials[0]
    assert data.best in data.drawn
    assert set(data.results["trial_id"]) == {t.trial_id for t in data.drawn}
    assert len(store.results_frame("big")) > 1.5 * len(data.results)
    assert data.progress is not None and data.progress.frame["trial_id"].nunique() < 300  # not every trial's
    assert [(imp.rung, imp.trials, imp.sampled_from) for imp in data.importance] == [
        (1, 1000, 2000), (2, 1000, 2000), (4, sum(t.iterations == 4 and t.trial_id in
                                                  {p.trial_id for p in data.sample.picked} for t in data.trials),
                                          sum(t.iterations == 4 for t in data.trials))]


def test_sampled_plots_draw_the_best_say_they_sample_and_map_only_what_they_draw(
        big: tuple[Store, ReportData, dict[str, str]]) -> None:
    _, data, plots = big
    assert set(plots) == {"curves", "params", "parallel", "contour", "best_so_far", "timeline", "rungs"}
    drawn = {t.trial_id for t in data.drawn}
    best = data.trials[0].trial_id
    for key in ("curves", "params", "parallel", "contour", "best_so_far", "timeline"):
        assert f"{len(drawn):,} of 2,000 trials drawn: the best 20 and a fixed sample of 1,000" in plots[key], key
        ids = set(_hits(plots[key])["t"])
        assert ids <= drawn and best in ids, key
    # Every drawn trial has a final value: all but the few a robust y-limit leaves off the drawing.
    assert len(_hits(plots["params"])["t"]) >= 0.95 * len(drawn)
    assert "quantile bands over the sample of 1,000 + top 10" in plots["curves"]


def test_best_so_far_of_a_sampled_sweep_is_the_staircase_of_every_result(store: Store) -> None:
    _fill(store, "stairs", 1100)
    data = gather(store, "stairs")
    assert data.sampled
    everything = dataclasses.replace(data, results=store.results_frame("stairs"), sample=None, progress=None)
    seconds, best = best_steps(data)
    all_seconds, all_best = best_steps(everything)
    assert len(seconds) > 3 and seconds[-1] == all_seconds[-1]
    # The same best at every moment a result came in (ties in time may order the steps differently).
    times = store.results_frame("stairs")["recorded"].to_numpy()
    ours = best[np.searchsorted(seconds, times, side="right") - 1]
    theirs = all_best[np.searchsorted(all_seconds, times, side="right") - 1]
    assert np.array_equal(ours, theirs)


def test_a_sampled_report_and_page_list_every_trial_and_say_what_the_plots_sampled(
        big: tuple[Store, ReportData, dict[str, str]], tmp_path: Path) -> None:
    store, data, plots = big
    note = "2,000 trials: the plots draw"
    html = render_html(data, {k: v for k, v in plots.items()})
    assert f'<p class="sub" id="sampled">{note}' in html
    assert "<summary>2000 trials, best first</summary>" in html
    assert html.count('<tr class="best">') == 2  # top trials and all trials, the best first in each
    assert "rung 1 (1,000 of 2,000 trials, sampled)" in html
    doc = json.loads(export_report("big", store=store, fmt="json", path=tmp_path / "big.json").read_text())
    assert len(doc["trials"]) == 2000 and doc["best"]["trial_id"] == data.trials[0].trial_id
    assert {(imp["trials"], imp["sampled_from"]) for imp in doc["importance"][:2]} == {(1000, 2000)}

    page = sweep_main(data, plots, "now")
    assert f'<p class="sub" id="sampled">{note}' in page
    assert page.count("<tr data-trial=") == 2000
    info = re.search(r'<script type="application/json" id="trial-info">(.*?)</script>', page)
    assert info  # hover text for the drawn trials: every trial a plot maps, and no other
    assert set(json.loads(info.group(1))) == {t.trial_id for t in data.drawn} >= {
        tid for svg in plots.values() if "data-hits" in svg for tid in _hits(svg)["t"]}
