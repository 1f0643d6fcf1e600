"""A big sweep's page (its plots sampled, past 1,000 trials) answers first without its plots, a placeholder
each; every plot then comes from its own URL with its hit map, drawn once per store change. On every store
backend, through Starlette's test client and (where /usr/bin/chromium is) a real headless Chromium."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from harness import ChromiumLauncher
from store_rows import fill_sweep

from hpo.results import Store
from hpo.results.report import parallel, plots

from .cdp import Chromium
from .conftest import dashboard_client, serving
from .test_dashboard_browser import _point, _visible_rows

with warnings.catch_warnings():  # Starlette nudges towards httpx2; httpx is what is installed
    warnings.simplefilter("ignore", DeprecationWarning)

TRIALS = 1_500  # past SAMPLE_ABOVE: the plots draw a sample
SPEC = f"""\
name: big
trainable: cifar
metric: loss
mode: min
search: {{algorithm: random, num_samples: {TRIALS}, seed: 0}}
scheduler: {{type: fifo, max_t: 2}}
params:
  x: {{type: float, low: 0.0, high: 1.0}}
  y: {{type: float, low: 0.0, high: 1.0}}
  opt: {{type: choice, values: [sgd, adamw]}}
"""
# FIFO, one objective: no rungs, no Pareto front. The rest each draw something.
KINDS = ["curves", "params", "parallel", "contour", "best_so_far", "timeline"]


def _fill(store: Store) -> None:
    trials = {f"t{i:04d}": ({"x": (i * 0.37) % 1, "y": (i * 0.61) % 1, "opt": "sgd" if i % 2 else "adamw"},
                            [1.0, 0.5 + (i * 0.37) % 1], "complete") for i in range(TRIALS)}
    fill_sweep(store, "big", SPEC, trials, status="running")


def _slots(html: str) -> dict[str, str]:
    """Each placeholder's plot and the URL the script fetches it from."""
    return {kind: src.replace("&amp;", "&") for kind, src in
            re.findall(r'<figure id="plot-([a-z_]+)"><h3>[^<]*</h3>(?:<form.*?</form>)?'
                       r'<div class="plot-slot" data-src="([^"]+)">', html)}


# Each plot's maker, as the dashboard draws a big sweep's plots one by one.
MAKERS = {"pareto": (plots, "pareto_plot"), "curves": (plots, "learning_curves"), "params": (plots, "params_plot"),
          "parallel": (parallel, "parallel_coordinates"), "contour": (plots, "contour_plot"),
          "best_so_far": (plots, "best_so_far"), "timeline": (plots, "timeline"), "rungs": (plots, "rung_survivors")}


def test_a_big_sweeps_page_comes_first_and_its_plots_after(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(store)
    drawn: list[str] = []

    def counted(kind: str, make: Any) -> Any:
        def draw(*args: Any, **kwargs: Any) -> Any:
            drawn.append(kind)
            return make(*args, **kwargs)

        return draw

    for kind, (module, name) in MAKERS.items():
        monkeypatch.setattr(module, name, counted(kind, getattr(module, name)))
    # The running sweep's page changes only with the store (not with the cost clock).
    client = dashboard_client(store, min_rebuild_s=0.0, cost_tick_s=10**9)

    page = client.get("/sweeps/big")
    assert page.status_code == 200
    html = page.text
    assert "<svg" not in html  # no plot on the first answer ...
    slots = _slots(html)
    assert list(slots) == KINDS  # ... a placeholder for each, in the page's order
    assert slots["curves"] == "/sweeps/big/plots/curves?fragment=1"
    assert '<a href="/sweeps/big/plots/curves">open this plot</a>' in html  # where it is, without the script
    assert html.count("<tr data-trial=") == TRIALS and "1,500 trials: the plots draw" in html
    assert re.findall(r"<script[^>]*>", html) == ['<script type="application/json" id="trial-info">',
                                                  '<script src="/static/dash.js">']

    for kind, src in slots.items():
        plot = client.get(src)
        assert plot.status_code == 200, kind
        assert plot.text.startswith("<svg data-hits='"), kind
        hits = json.loads(re.match(r"<svg data-hits='([^']*)'", plot.text).group(1).replace("&#39;", "'")
                          .replace("&amp;", "&"))
        assert hits["t"] and hits["p"], kind
        assert "xmlns" not in plot.text[:200] and 'id="l' in plot.text  # inlined, its ids prefixed
    assert client.get("/sweeps/big/plots/rungs?fragment=1").status_code == 204  # FIFO: nothing to draw
    assert client.get("/sweeps/big/plots/nope").status_code == 404
    alone = client.get("/sweeps/big/plots/params")  # the link's page: the plot and the way back
    assert alone.status_code == 200 and alone.text.count("<svg") == 1 and 'href="/sweeps/big"' in alone.text

    # Each plot drawn once, whichever asked first (the thread the page started, or a request).
    client.get("/sweeps/big")
    for src in slots.values():
        client.get(src)
    assert sorted(drawn) == sorted([*KINDS, "rungs"])

    # The contour over params the URL chose: its placeholder asks for that pair.
    chosen = _slots(client.get("/sweeps/big", params={"cx": "y", "cy": "x"}).text)
    assert chosen["contour"] == "/sweeps/big/plots/contour?fragment=1&cx=y&cy=x"
    contour = client.get(chosen["contour"])
    assert contour.status_code == 200 and "<svg data-hits=" in contour.text
    assert contour.text != client.get(slots["contour"]).text


@pytest.mark.browser
def test_lazily_loaded_plots_hover_and_keep_the_urls_selection_in_chromium(store: Store, chromium: ChromiumLauncher,
                                                                           tmp_path: Path) -> None:
    _fill(store)
    brush = [{"plot": "parallel", "axis": "x", "lo": 0.0, "hi": 0.5}]
    with serving(store) as base, Chromium(chromium, tmp_path / "profile") as page:
        page.go(f"{base}/sweeps/big#sel={quote(json.dumps(brush, separators=(',', ':')), safe='')}")
        page.wait(f"document.querySelectorAll('.plot-slot.loaded svg[data-hits]').length === {len(KINDS)}",
                  timeout=60)
        # The brush from the URL applies once its plot is in: only trials it keeps stay in the table.
        page.wait("(document.getElementById('selection').textContent || '').indexOf('trial(s) selected') > 0")
        shown = _visible_rows(page)
        assert 0 < len(shown) < TRIALS

        point = _point(page, "params")
        page.mouse("moved", point["x"], point["y"])
        tip = page.wait("!document.getElementById('tip').hidden && document.getElementById('tip').textContent")
        assert re.match(r"t\d{4} · loss \d", tip) and "x=" in tip and "opt=" in tip
