"""Every report format and every dashboard page renders any sweep: every trial errored, one trial, no
metric ever reported, nothing varied, a sweep still pending, only running trials, trials replaced by a later
run. Where a plot cannot be drawn one sentence says why; every format and the sweep page group the errors."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from store_rows import FakeTrial

from hpo.results import Store, StoreCallback, export_report
from hpo.results.analysis.errors import NO_ERROR_TEXT, error_groups
from hpo.results.report import PLOTS, gather
from hpo.results.store.records import TrialRecord
from hpo.spaces import build_plan, parse_spec

from .conftest import XSS, dashboard_client

SPEC = """\
name: {name}
trainable: tests.fake:train
metric: val_loss
mode: min
search: {{algorithm: random, num_samples: 4, seed: 0}}
scheduler: {{type: asha, max_t: 4, grace_period: 1, reduction_factor: 2}}
resources: {{cpu: 1, gpu: 0}}
params:
  lr: {{type: float, low: 1.0e-4, high: 1.0e-1, log: true}}
"""

KEY_ERROR = ("Failure # 1 (occurred at 2026-12-06_10-00-00)\nTraceback (most recent call last):\n"
             "  File \"train.py\", line 3, in train\n    l2 = config[\"l2\"]\nKeyError: 'l2'\n")
VALUE_ERROR = f"Traceback (most recent call last):\n  File x\nValueError: bad lr {XSS}\n"

# name -> trials: id -> (config, values of val_loss per iteration, end: complete|error|running, error text)
Trials = dict[str, tuple[dict[str, Any], list[float], str, str | None]]
SWEEPS: dict[str, Trials] = {
    "all-errored": {"e0": ({"lr": 0.1}, [], "error", KEY_ERROR), "e1": ({"lr": 0.01}, [], "error", KEY_ERROR),
                    "e2": ({"lr": 0.001}, [], "error", VALUE_ERROR), "e3": ({"lr": 0.2}, [], "error", KEY_ERROR)},
    "one-trial": {"o0": ({"lr": 0.1}, [0.9, 0.5, 0.4, 0.3], "complete", None)},
    "no-metric": {"n0": ({"lr": 0.1}, [], "complete", None), "n1": ({"lr": 0.01}, [], "running", None)},
    "nothing-varied": {f"f{i}": ({"lr": 0.1}, [1.0 - i / 10, 0.8 - i / 10], "complete", None) for i in range(5)},
    "pending": {},
    "only-running": {"r0": ({"lr": 0.1}, [0.9, 0.7], "running", None), "r1": ({"lr": 0.01}, [], "running", None)},
    # e0/e1 errored and ran again as n0/n1 (hpo resume --restart-errored): the errored rows are not counted.
    "replaced": {"e0": ({"lr": 0.1}, [], "error", KEY_ERROR), "e1": ({"lr": 0.01}, [2.0], "error", KEY_ERROR),
                 "e2": ({"lr": 0.001}, [], "error", VALUE_ERROR), "n0": ({"lr": 0.1}, [0.5, 0.4], "complete", None),
                 "n1": ({"lr": 0.01}, [0.6, 0.35], "complete", None)},
}
REPLACED = {"e0": "n0", "e1": "n1"}

# What each sweep's reports and sweep page say about their plots, best trial, importance and errors.
PLOT_NOTE = {
    "all-errored": "Every trial errored before reporting val_loss: no plot of it can be drawn (see Errors).",
    "one-trial": "Only one trial: no hyperparameter varied, so the plots against hyperparameters are left out.",
    "no-metric": "No trial has reported val_loss yet: no plot of it can be drawn.",
    "nothing-varied": "No hyperparameter varied between the trials: the plots against hyperparameters are left out.",
    "pending": "No trial has started yet: nothing to plot.",
}
BEST_NOTE = {"all-errored": "No trial reported val_loss: every trial errored (see Errors).",
             "no-metric": "No trial has reported the metric yet.", "pending": "No trial has reported the metric yet."}
ERRORS_NOTE = {"all-errored": "All 4 trials errored: 2 distinct errors, most frequent first.",
               "replaced": "1 of 3 trials errored: one error."}
ERRORS_JSON = {"all-errored": [{"error": "KeyError: 'l2'", "count": 3, "trials": ["e0", "e1", "e3"]},
                               {"error": f"ValueError: bad lr {XSS}", "count": 1, "trials": ["e2"]}],
               "replaced": [{"error": f"ValueError: bad lr {XSS}", "count": 1, "trials": ["e2"]}]}


def fill(store: Store, name: str, trials: Trials, tmp: Path) -> None:
    """The sweep through the real ``StoreCallback``, as the engine writes it (the plan beside the spec);
    an errored trial's text comes from its Ray error file."""
    spec_yaml = SPEC.format(name=name)
    plan = build_plan(parse_spec(yaml.safe_load(spec_yaml)))
    store.start_sweep(name=name, spec_yaml=spec_yaml, spec_hash="h" * 16, metric="val_loss", mode="min", max_t=4,
                      plan=plan.to_dict())
    if not trials:
        return  # pending: the row written, no trial yet
    callback = StoreCallback(store, sweep=name, metric="val_loss", mode="min", max_t=4)
    callback.setup()
    fakes = {tid: FakeTrial(tid, config) for tid, (config, *_) in trials.items()}
    everyone = list(fakes.values())
    for fake in everyone:
        callback.on_trial_start(0, everyone, fake)
    for tid, (config, values, end, _) in trials.items():
        for step, value in enumerate(values, start=1):  # Tune sets done on the result it stops a trial at
            callback.on_trial_result(0, everyone, fakes[tid], {"training_iteration": step, "time_total_s": step * 0.5,
                                                               "val_loss": value, "config": config,
                                                               "done": end == "complete" and step == len(values)})
    for tid, (_, _, end, error) in trials.items():
        if end == "complete":
            callback.on_trial_complete(0, everyone, fakes[tid])
        elif end == "error":
            path = tmp / f"{name}-{tid}-error.txt"
            path.write_text(error or "")
            fakes[tid].error_file = str(path)
            callback.on_trial_error(0, everyone, fakes[tid])
    callback.on_experiment_end(everyone)
    if all(end == "error" for _, _, end, _ in trials.values()):
        store.finish_sweep(name, "failed", reason="every trial errored")
    elif not any(end == "running" for _, _, end, _ in trials.values()):
        store.finish_sweep(name, "finished")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One store holding every sweep of ``SWEEPS``."""
    home = tmp_path_factory.mktemp("any")
    opened = Store.open(home=home)
    for name, trials in SWEEPS.items():
        fill(opened, name, trials, home)
    opened.mark_replaced("replaced", REPLACED)  # what `hpo resume --restart-errored` records
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def reports(store: Store, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """Every sweep's report in every format (written once: a report that raises fails every test here)."""
    out = tmp_path_factory.mktemp("reports")
    return {name: {fmt: export_report(name, fmt=fmt, store=store, path=out / f"{name}.{fmt}")
                   for fmt in ("html", "md", "json", "csv")} for name in SWEEPS}


@pytest.fixture(scope="module")
def client(store: Store) -> Any:
    """One dashboard over the store for the module: each sweep's page (and its plots) is drawn once."""
    return dashboard_client(store, min_rebuild_s=60.0)


class _Text(HTMLParser):
    """The text a reader sees (what sits between tags, styles and scripts left out), joined at tags by a space."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip = tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._skip = False

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(parser.parts).split())


def _md_text(markdown: str) -> str:
    """Markdown with its escapes undone, as a reader sees it."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@pytest.mark.parametrize("name", list(SWEEPS))
def test_every_format_renders_and_says_why_a_plot_is_missing(reports: dict[str, dict[str, Path]], name: str) -> None:
    html = _visible(reports[name]["html"].read_text())
    markdown = _md_text(reports[name]["md"].read_text())
    for text_ in (html, markdown):
        assert "Errors" in text_
        if name in PLOT_NOTE:
            assert PLOT_NOTE[name] in text_
        if name in BEST_NOTE:
            assert BEST_NOTE[name] in text_
        assert ERRORS_NOTE.get(name, "No trial errored.") in text_
    doc = json.loads(reports[name]["json"].read_text())
    assert doc["errors"] == ERRORS_JSON.get(name, [])
    rows = list(csv.DictReader(io.StringIO(reports[name]["csv"].read_text())))
    assert len(rows) == len(SWEEPS[name]) - (len(REPLACED) if name == "replaced" else 0)


def test_a_sweep_whose_trials_all_errored_groups_its_errors_most_frequent_first(
        reports: dict[str, dict[str, Path]]) -> None:
    html_text = reports["all-errored"]["html"].read_text()
    visible = _visible(html_text)
    assert ("Errors All 4 trials errored: 2 distinct errors, most frequent first. trials error trial ids "
            "3 KeyError: 'l2' error text of trial e0 Failure # 1") in visible
    assert f"1 ValueError: bad lr {XSS} error text of trial e2" in visible
    assert XSS not in html_text  # the error text is escaped
    assert "Trials 4 trials: 4 error" in visible
    assert "Too few trials with the metric to estimate importance." in visible
    assert "<svg" in html_text and 'id="plot-timeline"' in html_text  # the trials ran, if briefly
    assert 'id="plot-curves"' not in html_text and 'id="plot-rungs"' not in html_text  # no rung reached
    markdown = reports["all-errored"]["md"].read_text()
    assert ("## Errors\n\nAll 4 trials errored: 2 distinct errors, most frequent first.\n\n"
            "| trials | error | trial ids |\n|---|---|---|\n| 3 | KeyError: 'l2' | e0, e1, e3 |\n"
            "| 1 | ValueError: bad lr &lt;script&gt;alert(1)&lt;/script&gt; | e2 |\n") in markdown
    doc = json.loads(reports["all-errored"]["json"].read_text())
    assert doc["best"] is None and doc["importance"] == [] and doc["replaced"] == []


def test_nothing_varied_has_no_importance_to_estimate(reports: dict[str, dict[str, Path]]) -> None:
    note = "No hyperparameter varied: there is no importance to estimate."
    assert note in _visible(reports["nothing-varied"]["html"].read_text())
    assert note in reports["nothing-varied"]["md"].read_text()
    html_text = reports["nothing-varied"]["html"].read_text()
    assert 'id="plot-curves"' in html_text and 'id="plot-params"' not in html_text


def test_replaced_trials_are_listed_but_not_counted(store: Store, reports: dict[str, dict[str, Path]]) -> None:
    visible = _visible(reports["replaced"]["html"].read_text())
    assert "Trials 3 trials: 2 stopped early, 1 error; 2 errored trials replaced by a later run, not counted" in visible
    assert ("Replaced by a later run (not counted among the trials): e0 by n0 : KeyError: 'l2' "
            "e1 by n1 : KeyError: 'l2'") in visible  # (the ids are <code>: the text joins at tags with a space)
    markdown = reports["replaced"]["md"].read_text()
    assert ("Replaced by a later run (not counted among the trials):\n\n- e0 by n0: KeyError: 'l2'\n"
            "- e1 by n1: KeyError: 'l2'\n") in markdown
    doc = json.loads(reports["replaced"]["json"].read_text())
    assert [t["trial_id"] for t in doc["trials"]] == ["n1", "n0", "e2"]
    assert [(t["trial_id"], t["replaced_by"]) for t in doc["replaced"]] == [("e1", "n1"), ("e0", "n0")]
    assert doc["rungs"] == [{"iteration": 1, "trials": 2}, {"iteration": 2, "trials": 2},
                            {"iteration": 4, "trials": 0}]
    data = gather(store, "replaced")  # what the plots draw: e1's one result is not among it
    assert sorted(set(data.results["trial_id"])) == ["n0", "n1"]
    assert [t.trial_id for t in data.replaced] == ["e1", "e0"]


@pytest.mark.parametrize("name", list(SWEEPS))
def test_every_dashboard_page_renders(client: Any, name: str) -> None:
    page = client.get(f"/sweeps/{name}")
    assert page.status_code == 200
    visible = _visible(page.text)
    assert "Errors" in visible and ERRORS_NOTE.get(name, "No trial errored.") in visible
    if name in PLOT_NOTE:
        assert PLOT_NOTE[name] in visible
    assert client.get(f"/sweeps/{name}?fragment=1").status_code == 200
    api = client.get(f"/api/sweeps/{name}")
    assert api.status_code == 200 and api.json()["errors"] == ERRORS_JSON.get(name, [])
    compare = client.get("/compare", params={"sweeps": f"{name},one-trial"})
    assert compare.status_code == 200
    for kind in PLOTS:
        assert client.get(f"/sweeps/{name}/plots/{kind}").status_code == 200
        assert client.get(f"/sweeps/{name}/plots/{kind}?fragment=1").status_code in (200, 204)
    for trial_id in list(SWEEPS[name])[:2]:
        assert client.get(f"/sweeps/{name}/trials/{trial_id}").status_code == 200
        assert client.get(f"/api/sweeps/{name}/trials/{trial_id}").status_code == 200


def test_the_index_and_compare_count_what_the_reports_count(client: Any) -> None:
    assert client.get("/").status_code == 200
    listed = {s["name"]: s for s in client.get("/api/sweeps").json()["sweeps"]}
    assert set(listed) == set(SWEEPS)
    assert listed["replaced"]["trials"] == 3 and listed["replaced"]["counts"] == {
        "running": 0, "completed": 0, "stopped_early": 2, "error": 1}
    assert listed["pending"]["trials"] == 0 and listed["all-errored"]["best"] is None
    compare = client.get("/compare", params={"sweeps": "all-errored,pending"})
    assert compare.status_code == 200
    assert "No finished trial with the metric yet." in _visible(compare.text)
    cells = re.findall(r"<td class=num>([^<]*)</td>", compare.text)
    assert cells[:3] == ["—", "0", "4"]  # all-errored: no best, no trial finished with the metric, 4 errored


def test_the_sweep_page_groups_errors_with_links_to_each_trial(client: Any) -> None:
    page = client.get("/sweeps/all-errored").text
    section = page[page.index('id="errors"'):page.index("<h2>Plots</h2>")]
    links = re.findall(r'href="([^"]+)"', section)
    assert links == [f"/sweeps/all-errored/trials/{t}" for t in ("e0", "e1", "e3", "e2")]
    assert XSS not in page
    counts = dict(re.findall(r'id="count-(\w+)">(\d+)<', client.get("/sweeps/replaced").text))
    assert counts == {"completed": "0", "stopped_early": "2", "running": "0", "error": "1"}


def test_a_replaced_trials_page_says_so(client: Any) -> None:
    payload = client.get("/api/sweeps/replaced/trials/e0").json()
    assert payload["rank"] is None
    assert payload["stop_reason"] == "errored at iteration 0; replaced by trial n0, not counted"
    page = _visible(client.get("/sweeps/replaced/trials/e1").text)
    assert "rank in the sweep not ranked: replaced by a later run" in page
    replaced = client.get("/api/sweeps/replaced").json()["replaced"]
    assert [t["trial_id"] for t in replaced] == ["e1", "e0"]


def _trial(trial_id: str, status: str, error: str | None) -> TrialRecord:
    return TrialRecord(sweep="s", trial_id=trial_id, config={}, status=status, error=error)


def test_error_groups_most_frequent_first_ties_by_first_trial() -> None:
    trials = [_trial("b", "error", "Traceback\nValueError: x"), _trial("c", "error", KEY_ERROR),
              _trial("a", "error", "RuntimeError: y"), _trial("d", "error", KEY_ERROR), _trial("e", "error", None),
              _trial("f", "completed", "ValueError: recovered by a retry"), _trial("g", "error", "")]
    assert [g.to_dict() for g in error_groups(trials)] == [
        {"error": "KeyError: 'l2'", "count": 2, "trials": ["c", "d"]},
        {"error": NO_ERROR_TEXT, "count": 2, "trials": ["e", "g"]},
        {"error": "RuntimeError: y", "count": 1, "trials": ["a"]},
        {"error": "ValueError: x", "count": 1, "trials": ["b"]}]
    assert error_groups([]) == []
    assert error_groups(trials)[0].text == KEY_ERROR  # the first trial's whole text, for "error text of trial c"
