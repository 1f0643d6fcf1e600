"""A confirmation read from the store: pairing with the parent, mean and 95% interval, the verdict, every
report format, ``hpo best --confirmed``, and ``hpo confirm``'s refusals (each before Ray starts)."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from store_rows import fill_sweep

from hpo.results import Store, confirmation, export_report
from hpo.results.analysis.confirm import t_quantile
from hpo.search.cli.main import cli
from hpo.search.engine.driver import this_host

from .conftest import dashboard_client

PARENT = """\
name: par
trainable: cifar
metric: loss
mode: min
search: {algorithm: random, num_samples: 6, seed: 0}
scheduler: {type: asha, max_t: 2, grace_period: 1, reduction_factor: 2}
params:
  x: {type: float, low: -1.0, high: 1.0}
fixed: {max_iter: 2}
"""

CHILD = """\
name: par-confirm
trainable: cifar
metric: loss
mode: min
search: {algorithm: optuna, sampler: random, num_samples: 9, seed: 0}
scheduler: {type: fifo, max_t: 2}
params:
  x: {type: float, low: -1.0, high: 1.0}
  seed: {type: int, low: 1, high: 3}
fixed: {max_iter: 2}
confirm: {sweep: par, top: 3, seeds: [1, 2, 3]}
"""


def _cfg(x: float, seed: int | None = None) -> dict[str, object]:
    return {"x": x, "max_iter": 2, **({"seed": seed} if seed is not None else {})}


# The parent: a, b, c complete (ranked 1, 2, 3); f is a's config again; d stopped early; e errored.
PARENT_TRIALS = {
    "a": (_cfg(0.1), [0.5, 0.10], "complete"),
    "b": (_cfg(0.2), [0.5, 0.12], "complete"),
    "c": (_cfg(0.3), [0.5, 0.15], "complete"),
    "d": (_cfg(0.9), [0.05], "complete"),
    "e": (_cfg(0.5), [0.3, 0.2], "error"),
    "f": (_cfg(0.1), [0.4, 0.11], "complete"),
}
# Fresh seeds: b is best (0.16), then a (0.22), then c (0.305, one seed errored).
CHILD_FINAL = {0.1: [0.20, 0.22, 0.24], 0.2: [0.15, 0.16, 0.17], 0.3: [0.30, 0.31, None]}


def _child_trials() -> dict[str, tuple[dict[str, object], list[float], str]]:
    out = {}
    for x, finals in CHILD_FINAL.items():
        for seed, final in enumerate(finals, start=1):
            out[f"k{x}-{seed}"] = (_cfg(x, seed), [0.5] if final is None else [0.5, final],
                                   "error" if final is None else "complete")
    return out


@pytest.fixture
def confirmed(store: Store) -> Store:
    fill_sweep(store, "par", PARENT, PARENT_TRIALS)
    fill_sweep(store, "par-confirm", CHILD, _child_trials(), parent="par")
    return store


def _half(values: list[float]) -> float:
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return t_quantile(len(values) - 1) * sd / math.sqrt(len(values))


def test_t_quantile_table_and_expansion() -> None:
    assert [t_quantile(df) for df in (1, 2, 10, 30)] == [12.706, 4.303, 2.228, 2.042]
    assert 2.039 < t_quantile(31) < 2.041
    assert abs(t_quantile(10**6) - 1.96) < 1e-3
    with pytest.raises(ValueError, match="degrees of freedom must be >= 1, got 0"):
        t_quantile(0)


def test_confirmation_pairs_child_trials_with_the_parent(confirmed: Store) -> None:
    found = confirmation(confirmed, "par")
    assert found is not None and found == confirmation(confirmed, "par-confirm")
    assert (found.sweep, found.parent, found.status, found.top, found.seeds) == ("par-confirm", "par", "finished", 3,
                                                                                   (1, 2, 3))
    assert [(c.trial_id, c.original_rank, c.original, c.n, c.seeds, c.unfinished) for c in found.configs] == [
        ("b", 2, 0.12, 3, (1, 2, 3), 0), ("a", 1, 0.10, 3, (1, 2, 3), 0), ("c", 3, 0.15, 2, (1, 2), 1)]
    for item, finals in zip(found.configs, ([0.15, 0.16, 0.17], [0.20, 0.22, 0.24], [0.30, 0.31]), strict=True):
        mean, half = sum(finals) / len(finals), _half(finals)
        assert item.mean == pytest.approx(mean)
        assert item.interval == pytest.approx((mean - half, mean + half))
    assert found.winner is found.configs[0] and found.original_best is found.configs[1]
    assert found.order_changed and [c.trial_id for c in found.overlapping] == ["a"] and not found.holds
    assert found.verdict() == [
        "confirmed best: trial b (original #2), loss 0.16 over 3 seed(s) [0.13516, 0.18484]",
        "the order changed: the original best, trial a, is #2 after confirmation",
        "the intervals overlap: trial b [0.13516, 0.18484] and trial a [0.17031, 0.26969]; loss cannot tell them "
        "apart with these seeds (confirm with more --seeds)",
        "winner's curse: the original best scored 0.1 in par; over fresh seeds it reaches 0.22 (+0.12)",
        "1 re-run trial(s) did not complete and are left out",
    ]
    doc = found.to_dict()
    assert (doc["winner"], doc["original_best"], doc["order_changed"], doc["overlapping"], doc["holds"]) == (
        "b", "a", True, ["a"], False)
    assert set(doc["configs"][0]) == {"trial_id", "config", "original", "original_rank", "mean", "std", "low", "high",
                                      "n", "values", "seeds", "trials", "unfinished"}


def test_a_ranking_that_holds_says_so(store: Store) -> None:
    fill_sweep(store, "par", PARENT, PARENT_TRIALS)
    clear = {f"k{x}-{s}": (_cfg(x, s), [0.5, base + 0.001 * s], "complete")
             for x, base in ((0.1, 0.10), (0.2, 0.20), (0.3, 0.30)) for s in (1, 2)}
    fill_sweep(store, "par-confirm", CHILD.replace("seeds: [1, 2, 3]", "seeds: [1, 2]"), clear, parent="par")
    found = confirmation(store, "par")
    assert found is not None and found.holds and not found.order_changed and not found.overlapping
    assert found.verdict()[-1] == "the original ranking holds: trial a stays best, its interval clear of the others'"


def test_a_sweep_never_confirmed_has_none(store: Store) -> None:
    fill_sweep(store, "par", PARENT, PARENT_TRIALS)
    assert confirmation(store, "par") is None


def test_every_report_format_carries_the_confirmation(confirmed: Store, tmp_path: Path) -> None:
    doc = json.loads(export_report("par", fmt="json", store=confirmed, path=tmp_path / "r.json").read_text())
    assert doc["confirmation"]["winner"] == "b" and doc["sweep"]["parent"] is None
    child = json.loads(export_report("par-confirm", fmt="json", store=confirmed, path=tmp_path / "c.json").read_text())
    assert child["sweep"]["parent"] == "par" and child["confirmation"] == doc["confirmation"]
    rows = list(csv.DictReader(io.StringIO(export_report("par", fmt="csv", store=confirmed,
                                                         path=tmp_path / "r.csv").read_text())))
    by_id = {r["trial_id"]: r for r in rows}
    assert float(by_id["b"]["confirmed.mean"]) == pytest.approx(0.16)
    assert (by_id["c"]["confirmed.n"], by_id["c"]["confirmed.sweep"], by_id["d"]["confirmed.mean"]) == (
        "2", "par-confirm", "")
    markdown = export_report("par", fmt="md", store=confirmed, path=tmp_path / "r.md").read_text()
    assert "## Confirmation\n\nSweep par-confirm re-ran the top 3 configs of par with fresh seeds (1, 2, 3)" in markdown
    assert "| 1 | b | 2 | 0.12 | 0.16 | \\[0.135157, 0.184843\\] | 3 |" in markdown
    html = export_report("par", fmt="html", store=confirmed, path=tmp_path / "r.html").read_text()
    assert '<div id="confirmation">' in html and "the order changed: the original best, trial a" in html


def test_best_confirmed(confirmed: Store) -> None:
    runner = CliRunner()
    shown = runner.invoke(cli, ["best", "par", "--confirmed", "--store", confirmed.url])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[:2] == [
        "confirmed best of par: trial b, loss 0.16 over 3 seeds, 95% interval [0.13516, 0.18484] (original #2, 0.12)",
        "  config:  x=0.2, max_iter=2"]
    as_json = json.loads(runner.invoke(cli, ["best", "par-confirm", "--confirmed", "--format", "json", "--store",
                                             confirmed.url]).stdout)
    assert (as_json["best"]["trial_id"], as_json["best"]["n"], as_json["parent"]) == ("b", 3, "par")
    fill_sweep(confirmed, "other", PARENT.replace("name: par", "name: other"), PARENT_TRIALS)
    none = runner.invoke(cli, ["best", "other", "--confirmed", "--store", confirmed.url])
    assert none.exit_code == 2
    assert none.stderr == ("hpo best: sweep 'other' has no confirmation; run `hpo confirm other --top K --seeds S` "
                           "first\n")


def _confirm(store: Store, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["confirm", *args, "--store", store.url, "-q"])
    return result.exit_code, result.stderr


def test_confirm_refuses_bad_input_in_one_line(store: Store) -> None:
    fill_sweep(store, "par", PARENT, PARENT_TRIALS)
    assert _confirm(store, "par", "--seeds", "1") == (
        2, "hpo confirm: --seeds must be >= 2 (a 95% interval needs two seeds), got 1\n")
    assert _confirm(store, "par", "--top", "0") == (2, "hpo confirm: --top must be >= 1, got 0\n")
    assert _confirm(store, "par", "--top", "4") == (
        2, "hpo confirm: --top 4 is more than sweep 'par' has: 4 completed trials (3 distinct configs); "
           "ask for --top 3 or fewer\n")
    code, err = _confirm(store, "parr")
    assert code == 2 and err.startswith("hpo confirm: no sweep named 'parr' in ") and err.endswith(
        "; close names: par\n")

    fill_sweep(store, "live", PARENT.replace("name: par", "name: live"), PARENT_TRIALS, status="running")
    store.set_driver("live", host=this_host(), pid=os.getpid())
    assert _confirm(store, "live") == (2, "hpo confirm: sweep 'live' is still running; confirm it once it has "
                                          "finished\n")
    fill_sweep(store, "cut", PARENT.replace("name: par", "name: cut"), PARENT_TRIALS, status="interrupted")
    assert _confirm(store, "cut") == (2, "hpo confirm: sweep 'cut' did not finish (status interrupted); finish it "
                                         "with `hpo resume cut`, then confirm it\n")
    two = PARENT.replace("name: par", "name: two").replace(
        "metric: loss\nmode: min\n", "metrics: [{name: loss, mode: min}, {name: cost, mode: min}]\n").replace(
        "type: asha", "type: fifo")
    fill_sweep(store, "two", two, {})
    assert _confirm(store, "two") == (2, "hpo confirm: sweep 'two' has several objectives (loss, cost); confirm "
                                         "ranks configs by one metric: pick from its Pareto set (`hpo best` lists "
                                         "it) and sweep those configs\n")
    pbt = PARENT.replace("name: par", "name: pbt").replace(
        "scheduler: {type: asha, max_t: 2, grace_period: 1, reduction_factor: 2}", "scheduler: {type: pbt, max_t: 4}")
    fill_sweep(store, "pbt", pbt, {})
    assert _confirm(store, "pbt") == (2, "hpo confirm: sweep 'pbt' ran pbt: its trials' configs changed as they "
                                         "trained, so no single config reproduces a score; confirm needs a sweep "
                                         "of fixed configs\n")
    fill_sweep(store, "par-confirm", CHILD, _child_trials(), parent="par")
    assert _confirm(store, "par-confirm") == (
        2, "hpo confirm: sweep 'par-confirm' is itself a confirmation of 'par'; confirm 'par' again (more --seeds, "
           "or a larger --top)\n")
    assert [s.name for s in store.sweeps()].count("par-confirm2") == 0  # nothing was started


def test_the_dashboard_shows_the_confirmation(confirmed: Store) -> None:


    client = dashboard_client(confirmed, min_rebuild_s=0.0)
    page = client.get("/sweeps/par")
    assert page.status_code == 200 and '<div id="confirmation">' in page.text
    assert "confirmed best: trial b (original #2)" in page.text
    assert '<td><a href="/sweeps/par/trials/b">b</a></td>' in page.text  # the parent's trial page
    assert client.get("/api/sweeps/par").json()["confirmation"]["winner"] == "b"
