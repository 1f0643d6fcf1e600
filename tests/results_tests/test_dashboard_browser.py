"""The dashboard in a real headless Chromium, driven like a person would: hover a point and see its trial,
brush a parallel-coordinates axis and see the table filtered, watch the selection survive a live update,
click a line and land on the trial's page. On every store backend.

Skips (with the reason) only where /usr/bin/chromium is absent (the ``chromium`` fixture); ``.ci/run`` installs it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from harness import ChromiumLauncher
from store_rows import FakeTrial, fill_sweep

from hpo.results import Store

from .cdp import Chromium
from .conftest import serving

pytestmark = pytest.mark.browser

SPEC = """\
name: live
trainable: cifar
metric: loss
mode: min
search: {algorithm: random, num_samples: 20, seed: 0}
scheduler: {type: fifo, max_t: 3}
params:
  x: {type: float, low: 0.0, high: 1.0}
  opt: {type: choice, values: [sgd, adamw]}
"""
XS = [0.05 * i for i in range(12)]  # 0.0 .. 0.55


def _trials() -> dict[str, tuple[dict[str, Any], list[float], str]]:
    return {f"t{i:02d}": ({"x": x, "opt": "sgd" if i % 2 else "adamw"},
                          [1.0, 0.5 + x, 0.4 + x], "complete") for i, x in enumerate(XS)}


def _point(page: Chromium, plot: str, trial: str | None = None, *, axis: int | None = None) -> dict[str, Any]:
    """A plotted point of ``trial`` (its last: a curve's first points are shared by every trial) in viewport
    pixels, its trial, and for parallel coordinates the axis it lies on (scrolled into view first)."""
    return page.js(f"""(function () {{
      var svg = document.querySelector("#plot-{plot} svg[data-hits]");
      svg.scrollIntoView({{block: "center"}});
      var h = JSON.parse(svg.getAttribute("data-hits"));
      var want = {json.dumps(trial)}, axis = {json.dumps(axis)};
      var q = h.p.filter(function (q) {{
        return (want === null || h.t[q[2]] === want) && (axis === null || q[3] === axis); }}).pop();
      var pt = svg.createSVGPoint(); pt.x = q[0]; pt.y = q[1];
      var c = pt.matrixTransform(svg.getScreenCTM());
      var a = axis === null ? null : h.a[axis];
      var ends = a === null ? null : [a.y0, a.y1].map(function (y) {{
        var e = svg.createSVGPoint(); e.x = a.x; e.y = y; return e.matrixTransform(svg.getScreenCTM()); }});
      return {{x: c.x, y: c.y, trial: h.t[q[2]],
               axis: ends && {{x: ends[0].x, bottom: ends[0].y, top: ends[1].y}}}};
    }})()""")


def _visible_rows(page: Chromium) -> list[str]:
    return page.js("Array.from(document.querySelectorAll('table.trials tbody tr'))"
                   ".filter(function (r) { return !r.hidden; }).map(function (r) { return r.dataset.trial; })")


def _add_trial(store: Store, trial_id: str, x: float) -> None:
    """One more trial reaches the store the way a running sweep's results do."""
    from hpo.results import StoreCallback

    callback = StoreCallback(store, sweep="live", metric="loss", mode="min", max_t=3)
    callback.setup()
    trial = FakeTrial(trial_id, {"x": x, "opt": "sgd"})
    callback.on_trial_start(0, [trial], trial)
    for step, value in enumerate([1.0, 0.5 + x, 0.4 + x], start=1):
        callback.on_trial_result(0, [trial], trial, {"training_iteration": step, "time_total_s": step * 0.5,
                                                     "loss": value, "config": trial.config, "done": False})
    callback.on_trial_complete(0, [trial], trial)
    callback.on_experiment_end([trial])


def test_hover_brush_live_update_and_click_in_chromium(store: Store, chromium: ChromiumLauncher,
                                                       tmp_path: Path) -> None:
    fill_sweep(store, "live", SPEC, _trials(), status="running")
    with serving(store) as base, Chromium(chromium, tmp_path / "profile") as page:
        page.go(f"{base}/sweeps/live")
        assert len(_visible_rows(page)) == 12

        # Hover: the point of trial t03 against x says which trial it is, its metric and config.
        point = _point(page, "params", "t03")
        page.mouse("moved", point["x"], point["y"])
        shown = page.wait("!document.getElementById('tip').hidden && document.getElementById('tip').textContent")
        assert shown.startswith("t03 · loss 0.55") and "x=0.15" in shown and "opt=sgd" in shown

        # Brush the x axis of the parallel coordinates from its bottom to its middle: x <= 0.275.
        axis = _point(page, "parallel", axis=0)["axis"]
        middle = (axis["bottom"] + axis["top"]) / 2
        page.mouse("pressed", axis["x"], axis["bottom"] + 2)
        page.mouse("moved", axis["x"], middle)
        page.mouse("released", axis["x"], middle)
        expected = sorted(f"t{i:02d}" for i, x in enumerate(XS) if x <= 0.275 + 1e-9)
        page.wait(f"(document.getElementById('selection').textContent || '').indexOf("
                  f"'{len(expected)} trial(s) selected') === 0")
        assert sorted(_visible_rows(page)) == expected
        selection = page.js("location.hash")
        assert selection.startswith("#sel=")
        brush = json.loads(page.js("decodeURIComponent(location.hash.slice(5))"))
        assert [(b["plot"], b["axis"], b["lo"]) for b in brush] == [("parallel", "x", 0.0)]

        # A live update (a new trial inside the brushed range): the page swaps in, the selection stays.
        _add_trial(store, "t99", 0.1)
        page.wait("document.getElementById('trials-total').textContent === '13'", timeout=60)
        page.wait(f"(document.getElementById('selection').textContent || '').indexOf("
                  f"'{len(expected) + 1} trial(s) selected') === 0")
        assert sorted(_visible_rows(page)) == sorted([*expected, "t99"])
        assert page.js("location.hash") == selection

        # The sweep finishes: still the same selection on the finished page.
        store.finish_sweep("live", "finished")
        page.wait("document.getElementById('sweep-status').textContent === 'finished'", timeout=60)
        assert sorted(_visible_rows(page)) == sorted([*expected, "t99"])

        # A click on a learning curve opens that trial's page.
        point = _point(page, "curves", "t05")
        page.mouse("moved", point["x"], point["y"])
        page.mouse("pressed", point["x"], point["y"])
        page.mouse("released", point["x"], point["y"])
        page.wait("location.pathname === '/sweeps/live/trials/t05' && document.readyState === 'complete'")
        assert page.js("document.getElementById('trial-id').textContent") == "t05"
        assert "completed 3 iterations of 3" in page.js("document.body.textContent")
