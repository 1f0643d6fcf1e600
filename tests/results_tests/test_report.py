"""export_report: every format's content, escaping, self-containment, atomic writes, default paths."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import text

from hpo.results import Store, SweepNotFoundError, export_report
from hpo.results.report.markdown import code_block, md

from .conftest import SPEC_YAML, XSS, fill_demo

ESCAPED_XSS = "&lt;script&gt;alert(1)&lt;/script&gt;"
BEST_COMMAND = (
    "hpo sweep spec.yaml --name demo-best --set search.algorithm=random --set search.num_samples=1 "
    "--set scheduler.type=fifo --set params.lr=0.1 --set params.width=16 --set 'params.tag=a|b`c' "
    "--set 'params.optimizer={name: sgd, momentum: 0.9}'"
)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict[str, Path]]]:
    """The demo sweep and its four reports at their default paths (written once per module)."""
    home = tmp_path_factory.mktemp("home")
    store = Store.open(home=home)
    fill_demo(store, home)
    paths = {fmt: export_report("demo", fmt=fmt, store=store) for fmt in ("html", "md", "json", "csv")}
    yield store, paths
    store.close()


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.styles if self._in_style else self.text).append(data)


def _parse(text: str) -> _Collector:
    parser = _Collector()
    parser.feed(text)
    parser.close()
    return parser


def test_default_paths_are_under_home_reports(reports: tuple[Store, dict[str, Path]]) -> None:
    store, paths = reports
    assert {fmt: p.relative_to(store.home).as_posix() for fmt, p in paths.items()} == {
        "html": "reports/demo.html", "md": "reports/demo.md", "json": "reports/demo.json",
        "csv": "reports/demo.csv"}
    leftovers = [p.name for p in (store.home / "reports").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    umask = os.umask(0)
    os.umask(umask)
    assert {p.stat().st_mode & 0o777 for p in paths.values()} == {0o666 & ~umask}  # shareable, not 0600


def test_html_is_self_contained_and_references_nothing_over_the_network(
        reports: tuple[Store, dict[str, Path]]) -> None:
    text = reports[1]["html"].read_text()
    page = _parse(text)
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    assert "iframe" not in page.tags and "object" not in page.tags
    for tag, name, value in page.attrs:
        if name in ("src", "href", "xlink:href", "action", "srcset", "poster"):
            assert value is not None and value.startswith("#"), (tag, name, value)
    css = "".join(page.styles)
    assert "@import" not in css and "url(" not in css
    assert not re.search(r"https?://", text), "no URL at all in the page"
    assert page.tags.count("svg") == 6  # curves, params, parallel coordinates, best so far, timeline, rungs


def test_html_has_every_section_and_the_best_trial(reports: tuple[Store, dict[str, Path]]) -> None:
    text = reports[1]["html"].read_text()
    visible = " ".join(" ".join(_parse(text).text).split())
    for heading in ("The sweep", "Best trial", "Top trials", "Plots", "Learning curves",
                    "Metric against each hyperparameter", "Best so far against wall time", "ASHA survivors per rung",
                    "Errors", "All trials", "Spec"):
        assert heading in visible, heading
    assert "val_loss = 0.3 trial t0" in visible
    assert "Searcher algorithm=hyperopt, num_samples=6, max_concurrent=2, seed=0" in visible
    assert "Scheduler type=asha, max_t=4, grace_period=1, reduction_factor=2" in visible
    assert "Resources per trial cpu=1, gpu=0.5" in visible
    assert "Spec hash hhhhhhhhhhhhhhhh" in visible
    assert "Trials 6 trials: 1 running, 3 completed, 1 stopped early, 1 error" in visible
    assert BEST_COMMAND in visible
    assert "optimizer: name: sgd momentum: 0.9" in visible  # the config as YAML
    # The Errors section: each distinct error once, its count, its trials; the whole text on demand.
    assert ("Errors 1 of 6 trials errored: one error. trials error trial ids "
            "1 ValueError: boom <script>alert(1)</script> error text of trial t4 Failure # 1") in visible
    assert "ckpt/t0" in visible


def test_html_escapes_config_values(reports: tuple[Store, dict[str, Path]]) -> None:
    text = reports[1]["html"].read_text()
    assert XSS not in text and "<script" not in text
    assert text.count(ESCAPED_XSS) >= 3  # table cells, the error, the spec
    assert "a|b`c" in text


def test_html_plots_have_log_axes_and_unique_ids(reports: tuple[Store, dict[str, Path]]) -> None:
    text = reports[1]["html"].read_text()
    params = text[text.index('id="plot-params"'):text.index('id="plot-best_so_far"')]
    assert "lr (log)" in params and "optimizer.weight_decay (log)" in params and "width" in params
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids))


def test_markdown_has_tables_code_blocks_and_sibling_svgs(reports: tuple[Store, dict[str, Path]]) -> None:
    path = reports[1]["md"]
    text = path.read_text()
    assert "**val\\_loss = 0.3** (trial t0)" in text
    assert f"```sh\n{BEST_COMMAND}\n```" in text
    assert "```yaml\nlr: 0.1\nwidth: 16\ntag: a|b`c\noptimizer:\n  name: sgd\n  momentum: 0.9\nepochs: 4\n```" in text
    for key in ("curves", "params", "best_so_far", "rungs"):
        assert f"](demo.{key}.svg)" in text
        svg = path.with_name(f"demo.{key}.svg").read_text()
        assert svg.startswith("<?xml") and "<svg" in svg
    # Table rows keep their column count: pipes and backticks in values are escaped.
    rows = [line for line in text.splitlines() if line.startswith("| 1 | t0 |")]
    assert rows and all(len(re.findall(r"(?<!\\)\|", row)) == len(re.findall(r"(?<!\\)\|", rows[0])) for row in rows)
    assert "a\\|b\\`c" in rows[0]
    assert XSS not in text.split("## Spec")[0]  # raw only inside the spec's code block
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_markdown_escaping_helpers() -> None:
    assert md("a|b`c *x* <b> [l](u) _y_") == "a\\|b\\`c \\*x\\* &lt;b&gt; \\[l\\](u) \\_y\\_"
    assert md("two\nlines") == "two lines"
    assert code_block("has ``` inside", "sh") == "````sh\nhas ``` inside\n````"


def test_json_has_stable_documented_keys(reports: tuple[Store, dict[str, Path]]) -> None:
    doc = json.loads(reports[1]["json"].read_text())
    assert list(doc) == ["format", "format_version", "generated", "scope", "sweep", "spec", "best", "reproduce",
                         "rungs", "cost", "importance", "lineage", "confirmation", "errors", "replaced", "trials"]
    assert doc["errors"] == [{"error": f"ValueError: boom {XSS}", "count": 1, "trials": ["t4"]}]
    assert doc["replaced"] == []
    assert doc["lineage"] == []  # no PBT in this sweep
    assert doc["confirmation"] is None  # never confirmed
    assert (doc["format"], doc["format_version"], doc["scope"]) == ("hpo-report", 1, "last")
    assert set(doc["sweep"]) == {"name", "status", "metric", "mode", "max_t", "started", "finished", "duration_s",
                                 "storage_path", "reason", "parent", "gpu_kind", "driver", "plan",
                                 "counts", "spec_hash", "git_commit", "versions", "experiment_path", "spec_yaml",
                                 "store"}
    assert doc["sweep"]["counts"] == {"running": 1, "completed": 3, "stopped_early": 1, "error": 1}
    assert doc["spec"]["scheduler"]["type"] == "asha" and doc["sweep"]["spec_yaml"] == SPEC_YAML
    assert doc["best"]["trial_id"] == "t0" and doc["best"]["last_metric"] == 0.3
    assert doc["reproduce"] == BEST_COMMAND
    assert doc["rungs"] == [{"iteration": 1, "trials": 6}, {"iteration": 2, "trials": 5},
                            {"iteration": 4, "trials": 3}]
    assert [t["trial_id"] for t in doc["trials"]] == ["t0", "t1", "t2", "t5", "t3", "t4"]
    assert set(doc["trials"][0]) == {"sweep", "trial_id", "status", "config", "last_metric", "best_metric",
                                     "best_iteration", "iterations", "checkpoint_path", "error", "last_result",
                                     "started", "ended", "duration_s", "node", "replaced_by", "cpu_hours", "gpu_hours"}
    assert doc["trials"][1]["config"]["tag"] == XSS  # JSON keeps the value; json.dumps quotes it


def test_csv_one_row_per_trial_with_flat_config(reports: tuple[Store, dict[str, Path]]) -> None:
    rows = list(csv.DictReader(io.StringIO(reports[1]["csv"].read_text())))
    assert [r["trial_id"] for r in rows] == ["t0", "t1", "t2", "t5", "t3", "t4"]
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    first = rows[0]
    assert (first["status"], first["last_metric"], first["best_metric"], first["config.lr"],
            first["config.optimizer.name"], first["config.optimizer.momentum"], first["config.tag"]) == (
        "completed", "0.3", "0.3", "0.1", "sgd", "0.9", "a|b`c")
    assert rows[1]["config.tag"] == XSS and rows[1]["config.optimizer.momentum"] == ""
    assert rows[1]["result.val_loss"] == "0.35" and rows[1]["best_iteration"] == "3"
    assert rows[5]["error"] == f"ValueError: boom {XSS}"


def test_explicit_path_and_folder(reports: tuple[Store, dict[str, Path]], tmp_path: Path) -> None:
    store = reports[0]
    assert export_report("demo", fmt="csv", path=tmp_path / "x.csv", store=store) == tmp_path / "x.csv"
    assert export_report("demo", fmt="json", path=tmp_path, store=store) == tmp_path / "demo.json"
    # a folder that does not exist yet, written as one (`hpo report NAME -o pr/`), is created
    assert export_report("demo", fmt="md", path=f"{tmp_path}/pr/", store=store) == tmp_path / "pr" / "demo.md"
    assert (tmp_path / "pr" / "demo.md").is_file()


def test_export_opens_the_store_from_home(tmp_path: Path) -> None:
    with Store.open(home=tmp_path) as store:
        fill_demo(store, tmp_path)
    path = export_report("demo", fmt="json", home=tmp_path)
    assert path == tmp_path / "reports" / "demo.json" and path.exists()


def test_unknown_sweep_and_format(reports: tuple[Store, dict[str, Path]]) -> None:
    store = reports[0]
    with pytest.raises(SweepNotFoundError, match=r"close names: demo$"):
        export_report("dem", fmt="json", store=store)
    with pytest.raises(ValueError, match=r"^report format must be one of html, md, json, csv, got 'pdf'$"):
        export_report("demo", fmt="pdf", store=store)


def test_report_of_a_sweep_without_results(tmp_path: Path) -> None:
    with Store.open(home=tmp_path) as store:
        store.start_sweep(name="empty", spec_yaml=None, spec_hash=None, metric="m", mode="max")
        html = export_report("empty", fmt="html", store=store).read_text()
        doc = json.loads(export_report("empty", fmt="json", store=store).read_text())
        md_text = export_report("empty", fmt="md", store=store).read_text()
    assert "No trial has reported the metric yet." in html and "No trial has started yet: nothing to plot." in html
    assert doc["best"] is None and doc["trials"] == [] and doc["reproduce"] is None
    assert "No trial has reported the metric yet." in md_text


def test_cost_is_resources_times_wall_time_in_every_format(reports: tuple[Store, dict[str, Path]]) -> None:
    doc = json.loads(reports[1]["json"].read_text())
    ended = [t for t in doc["trials"] if t["ended"] is not None]
    for trial in ended:  # the demo spec asks cpu: 1, gpu: 0.5 per trial
        assert trial["cpu_hours"] == pytest.approx(trial["duration_s"] / 3600)
        assert trial["gpu_hours"] == pytest.approx(0.5 * trial["duration_s"] / 3600)
    assert doc["cost"]["gpu_hours"] == pytest.approx(0.5 * doc["cost"]["cpu_hours"])
    assert doc["cost"]["cpu_hours"] >= sum(t["cpu_hours"] for t in ended)


def test_importance_per_rung_is_the_same_in_json_html_and_markdown(reports: tuple[Store, dict[str, Path]]) -> None:
    doc = json.loads(reports[1]["json"].read_text())
    rungs = [imp["rung"] for imp in doc["importance"]]
    assert rungs == [1, 2]  # rung 4 has 3 trials: too few; early stops count at rungs 1 and 2
    assert [imp["trials"] for imp in doc["importance"]] == [6, 5]
    first = doc["importance"][0]["importance"]
    assert sum(first.values()) == pytest.approx(1.0)
    assert next(iter(first)) == "lr"  # lr varies 1000x across trials and drives the demo's loss
    html = reports[1]["html"].read_text()
    md = reports[1]["md"].read_text()
    for imp in doc["importance"]:
        for value in imp["importance"].values():
            assert f"{100 * value:.1f}%" in html and f"{100 * value:.1f}%" in md
    assert "rung 1 (6 trials)" in html and "rung 1 (6 trials)" in md


def test_no_secret_of_the_store_or_the_storage_reaches_any_report(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}?password=s3cr3t"
    storage = "s3://AKIAEXAMPLE:wJalrXUtnF@bucket/runs"
    shown = "s3://AKIAEXAMPLE:***@bucket/runs"
    error = "Traceback (most recent call last):\nOSError: uploading to s3://bucket/runs?secret_key=wJalrXUtnF failed\n"
    with pytest.warns(Warning, match="pysqlite"), Store.open(url, home=tmp_path) as store:
        fill_demo(store, tmp_path)
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE sweeps SET experiment_path = :e, storage_path = :s, spec_yaml = :y"),
                         {"e": f"{storage}/demo", "s": storage, "y": f"{SPEC_YAML}storage: {storage}\n"})
            conn.execute(text("UPDATE trials SET checkpoint_path = :c"), {"c": f"{storage}/demo/t/checkpoint_1"})
            conn.execute(text("UPDATE trials SET error = :e WHERE error IS NOT NULL"), {"e": error})
        texts = {fmt: export_report("demo", fmt=fmt, store=store).read_text() for fmt in ("html", "md", "json", "csv")}
    for fmt, report in texts.items():
        assert "s3cr3t" not in report and "wJalrXUtnF" not in report, fmt
    doc = json.loads(texts["json"])
    assert doc["sweep"]["store"] == f"sqlite:///{tmp_path / 'store.sqlite'}?password=***"
    assert (doc["sweep"]["storage_path"], doc["sweep"]["experiment_path"]) == (shown, f"{shown}/demo")
    assert doc["spec"]["storage"] == shown and doc["sweep"]["spec_yaml"].endswith(f"storage: {shown}\n")
    assert doc["best"]["checkpoint_path"] == f"{shown}/demo/t/checkpoint_1"
    masked_error = error.replace("wJalrXUtnF", "***")
    assert [t["error"] for t in doc["trials"] if t["error"]] == [masked_error]
    rows = list(csv.DictReader(io.StringIO(texts["csv"])))
    assert {r["checkpoint_path"] for r in rows} == {f"{shown}/demo/t/checkpoint_1"}
    assert [r["error"] for r in rows if r["error"]] == ["OSError: uploading to s3://bucket/runs?secret_key=*** failed"]
    assert f"<td>{shown}/demo</td>" in texts["html"] and f"storage: {shown}" in texts["html"]
    assert f"| {md(shown)}/demo |" in texts["md"] and f"storage: {shown}" in texts["md"]
