"""The plots' hit maps (which trial lies where, in SVG units), the timeline and the contour."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from store_rows import fill_sweep

from hpo.results import Store, export_report
from hpo.results.report.data import gather
from hpo.results.report.figure import hit_maps
from hpo.results.report.plots import all_plots

from .conftest import dashboard_client

SPEC = """\
name: two
trainable: cifar
metric: loss
mode: min
search: {algorithm: random, num_samples: 12, seed: 0}
scheduler: {type: asha, max_t: 3, grace_period: 1, reduction_factor: 2}
params:
  x: {type: float, low: 0.0, high: 1.0}
  lr: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}
  noise: {type: float, low: 0.0, high: 1.0}
"""


def _two(store: Store) -> None:
    trials = {}
    for i in range(12):
        x, lr, noise = i / 11, 10 ** (-4 + 3 * ((i * 5) % 12) / 11), ((i * 7) % 12) / 11
        loss = (x - 0.3) ** 2 + 0.2 * (lr - 0.01) ** 2 + 0.001 * noise
        trials[f"t{i:02d}"] = ({"x": x, "lr": lr, "noise": noise}, [loss + 0.2, loss + 0.1, loss][: 3 if i % 3 else 1],
                               "complete")
    fill_sweep(store, "two", SPEC, trials)


def _hits(svg: str) -> dict[str, Any]:
    found = re.search(r"<svg data-hits='([^']*)'", svg)
    assert found, "no hit map"
    return json.loads(found.group(1).replace("&#39;", "'").replace("&amp;", "&"))


def _view_box(svg: str) -> tuple[float, float]:
    box = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg)
    assert box
    return float(box.group(1)), float(box.group(2))


def test_every_plotted_trial_is_in_the_hit_map_inside_the_drawing(sqlite_store: Store) -> None:
    _two(sqlite_store)
    data = gather(sqlite_store, "two")
    with hit_maps():
        plots = all_plots(data)
    assert set(plots) == {"curves", "params", "parallel", "contour", "best_so_far", "timeline"}  # no plan: no rungs
    every = {t.trial_id for t in data.trials}
    for key in ("curves", "params", "parallel", "contour", "best_so_far", "timeline"):
        hits, (width, height) = _hits(plots[key]), _view_box(plots[key])
        assert set(hits["t"]) == every, key
        assert all(0 <= p[0] <= width and 0 <= p[1] <= height for p in hits["p"]), key
    parallel = _hits(plots["parallel"])
    assert [a["name"] for a in parallel["a"]] == ["x", "lr (log)", "noise", "loss (min)"]
    assert all(len(p) == 4 for p in parallel["p"]) and len(parallel["p"]) == 12 * 4
    # On the x axis the lowest x sits at its bottom (y0) and the highest at its top (y1).
    x_axis = parallel["a"][0]
    on_x = {parallel["t"][p[2]]: p[1] for p in parallel["p"] if p[3] == 0}
    assert abs(on_x["t00"] - x_axis["y0"]) < 0.5 and abs(on_x["t11"] - x_axis["y1"]) < 0.5
    assert "<svg data-hits" not in "".join(all_plots(data).values())  # only when asked for


def test_the_contour_takes_the_two_most_important_numeric_params(sqlite_store: Store) -> None:
    _two(sqlite_store)
    data = gather(sqlite_store, "two")
    plots = all_plots(data)
    assert "x" in plots["contour"] and "lr (log10)" in plots["contour"] and "noise" not in plots["contour"]


def test_the_report_has_the_timeline_and_contour_without_hit_maps(sqlite_store: Store, tmp_path: Path) -> None:
    _two(sqlite_store)
    html = export_report("two", fmt="html", store=sqlite_store, path=tmp_path / "r.html").read_text()
    assert 'id="plot-timeline"' in html and 'id="plot-contour"' in html and "data-hits" not in html


def test_the_dashboard_draws_the_contour_over_the_params_the_url_chooses(sqlite_store: Store) -> None:


    _two(sqlite_store)
    client = dashboard_client(sqlite_store, min_rebuild_s=0.0)
    default = client.get("/sweeps/two").text
    picked = re.search(r'<form class="contour-pick".*?</form>', default)
    assert picked is not None and sorted(re.findall(r"<option selected>(\w+)</option>", picked.group(0))) == ["lr", "x"]
    chosen = client.get("/sweeps/two?cx=noise&cy=x").text
    contour = chosen[chosen.index('<figure id="plot-contour">'):]
    contour = contour[:contour.index("</figure>")]
    drawn = contour[contour.index("</form>"):]
    assert "<option selected>noise</option>" in contour and "noise" in drawn and "lr (log10)" not in drawn
    assert 'data-fragment="/sweeps/two?fragment=1&amp;cx=noise&amp;cy=x"' in chosen  # live refreshes keep it
    fragment = client.get("/sweeps/two?fragment=1&cx=noise&cy=x").text
    assert "<option selected>noise</option>" in fragment


def test_the_pareto_front_knows_its_trials(sqlite_store: Store) -> None:
    from store_rows import FakeTrial

    from hpo.results import StoreCallback

    spec = ("name: two-goals\ntrainable: cifar\nmetrics: [{name: loss, mode: min}, {name: cost, mode: min}]\n"
            "scheduler: {type: fifo, max_t: 1}\nparams:\n  x: {type: float, low: 0.0, high: 1.0}\n")
    sqlite_store.start_sweep(name="two-goals", spec_yaml=spec, spec_hash=None, metric="loss", mode="min", max_t=1,
                             plan={"objectives": [["loss", "min"], ["cost", "min"]]})
    callback = StoreCallback(sqlite_store, sweep="two-goals", metric="loss", mode="min", max_t=1)
    callback.setup()
    trials = [FakeTrial(f"p{i}", {"x": i / 4}) for i in range(5)]
    for trial in trials:
        callback.on_trial_start(0, trials, trial)
        x = trial.config["x"]
        callback.on_trial_result(0, trials, trial, {"training_iteration": 1, "time_total_s": 1.0, "loss": x,
                                                    "cost": 1 - x, "done": False})
        callback.on_trial_complete(0, trials, trial)
    callback.on_experiment_end(trials)
    with hit_maps():
        plots = all_plots(gather(sqlite_store, "two-goals"))
    hits = _hits(plots["pareto"])
    assert sorted(hits["t"]) == [f"p{i}" for i in range(5)] and len(hits["p"]) == 5
    xs = {hits["t"][p[2]]: p[0] for p in hits["p"]}
    assert xs["p0"] < xs["p2"] < xs["p4"]  # loss grows with x, left to right
