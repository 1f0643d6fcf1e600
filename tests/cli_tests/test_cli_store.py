"""``hpo ls / trials / best / report``, invoked as click commands on a temporary store."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import sys
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner, Result
from sqlalchemy import text

from hpo.results import Store
from hpo.search.cli.main import cli
from hpo.search.cli.store import COMMANDS, best_command, ls_command, report_command, trials_command


def _results_fixtures() -> object:
    # The demo sweep of the results tests, loaded by path so any pytest import mode works.
    path = Path(__file__).resolve().parents[1] / "results_tests" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_hpo_results_test_fixtures", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]  # dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


_FIXTURES = _results_fixtures()
XSS: str = _FIXTURES.XSS  # type: ignore[attr-defined]
fill_demo = _FIXTURES.fill_demo  # type: ignore[attr-defined]

ENV = {"COLUMNS": "200", "NO_COLOR": "1"}


@pytest.fixture
def home(tmp_home: Path) -> Path:
    """A run home (``HPO_HOME``) whose store holds the ``demo`` sweep."""
    with Store.open() as store:
        fill_demo(store, tmp_home)
    return tmp_home


def _run(command: click.Command, args: list[str]) -> Result:
    """Run a store command the way a user does: through the `hpo` group (which maps errors to exit codes)."""
    return CliRunner().invoke(cli, [command.name, *args], env=ENV, catch_exceptions=False)


def test_commands_are_exported() -> None:
    assert [c.name for c in COMMANDS] == ["ls", "trials", "best", "report"]
    for command in COMMANDS:
        names = {p.name for p in command.params}
        assert {"home", "store_url"} <= names


def test_ls_lists_sweeps_with_counts_and_best(home: Path) -> None:
    result = _run(ls_command, [])
    assert result.exit_code == 0, result.output
    assert "demo" in result.output and "running" in result.output
    assert "6: 1 run, 3 done, 1 early, 1 err" in result.output
    assert "val_loss 0.3 (min)" in result.output


def test_ls_on_an_empty_store(tmp_home: Path) -> None:
    Store.open().close()  # a store without sweeps (a missing one: tests/cli_tests/test_cli_env.py)
    result = _run(ls_command, [])
    assert result.exit_code == 0
    assert result.output == f"no sweeps in sqlite:///{tmp_home / 'store.sqlite'}\n"


def test_ls_with_explicit_home_and_store(home: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{home / 'store.sqlite'}"
    assert "demo" in _run(ls_command, ["--store", url, "--home", str(tmp_path / "elsewhere")]).output
    assert "demo" in _run(ls_command, ["--home", str(home)]).output


def test_trials_table_best_first(home: Path) -> None:
    result = _run(trials_command, ["demo"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("│")]
    assert [line.split("│")[2].strip() for line in lines] == ["t0", "t1", "t2", "t5", "t3", "t4"]
    assert "stopped_early" in result.output and "0.2@3" in result.output


def test_trials_top_and_scope(home: Path) -> None:
    result = _run(trials_command, ["demo", "--top", "2", "--scope", "all", "--format", "json"])
    assert [t["trial_id"] for t in json.loads(result.output)] == ["t1", "t0"]


def test_trials_json_and_csv(home: Path) -> None:
    data = json.loads(_run(trials_command, ["demo", "--format", "json"]).output)
    assert len(data) == 6 and data[0]["config"]["optimizer"] == {"name": "sgd", "momentum": 0.9}
    rows = list(csv.DictReader(io.StringIO(_run(trials_command, ["demo", "--format", "csv", "--top", "3"]).output)))
    assert [r["trial_id"] for r in rows] == ["t0", "t1", "t2"]
    assert rows[1]["config.tag"] == XSS and rows[0]["config.optimizer.name"] == "sgd"


def test_trials_top_must_be_positive(home: Path) -> None:
    result = _run(trials_command, ["demo", "--top", "0"])
    assert result.exit_code == 2


def test_best_table_json_yaml(home: Path) -> None:
    table = _run(best_command, ["demo"])
    assert table.exit_code == 0
    assert "t0" in table.output and "config.optimizer.name" in table.output and "0.3 at iteration 4" in table.output
    assert json.loads(_run(best_command, ["demo", "--format", "json"]).output)["trial_id"] == "t0"
    data = yaml.safe_load(_run(best_command, ["demo", "--format", "yaml", "--scope", "all"]).output)
    assert (data["trial_id"], data["best_metric"], data["best_iteration"]) == ("t1", 0.2, 3)


def test_best_prints_markup_looking_values_verbatim(home: Path) -> None:
    output = _run(best_command, ["demo", "--scope", "all"]).output  # t1's tag is the <script> string
    assert XSS in output


def test_best_without_results(tmp_home: Path) -> None:
    with Store.open() as store:
        store.start_sweep(name="fresh", spec_yaml=None, spec_hash=None, metric="acc", mode="max")
    assert _run(best_command, ["fresh"]).output == "sweep fresh has no trial that reported acc yet\n"
    assert _run(best_command, ["fresh", "--format", "json"]).output == "null\n"


@pytest.mark.parametrize("command", [trials_command, best_command, report_command])
def test_unknown_sweep_exits_2_with_one_line_listing_close_names(home: Path, command: click.Command) -> None:
    result = CliRunner().invoke(cli, [command.name, "dmeo"], env=ENV)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (f"hpo {command.name}: no sweep named 'dmeo' in "
                             f"sqlite:///{home / 'store.sqlite'}; close names: demo\n")


def test_unusable_store_url_exits_2(tmp_home: Path) -> None:
    result = CliRunner().invoke(cli, ["ls", "--store", "nonsense"], env=ENV)
    assert result.exit_code == 2
    assert result.stderr == ("hpo ls: store URL 'nonsense' is not a SQLAlchemy URL "
                             "(e.g. sqlite:///runs/store.sqlite)\n")


def test_password_in_store_url_is_never_printed(tmp_home: Path) -> None:
    url = "postgresql+psycopg2://hpo:s3cret@127.0.0.1:1/none"
    result = CliRunner().invoke(cli, ["ls", "--store", url], env=ENV)
    assert result.exit_code == 2
    assert "s3cret" not in result.output and "hpo:***@127.0.0.1:1/none" in result.stderr


def test_secrets_in_store_and_storage_urls_never_reach_the_output(home: Path) -> None:
    url = f"sqlite:///{home / 'store.sqlite'}?password=s3cr3t"
    checkpoint = "s3://AKIAEXAMPLE:wJalrXUtnF@bucket/runs/demo/t0/checkpoint_000003"
    shown_checkpoint = "s3://AKIAEXAMPLE:***@bucket/runs/demo/t0/checkpoint_000003"
    with Store.open() as store, store.engine.begin() as conn:
        conn.execute(text("UPDATE trials SET checkpoint_path = :c"), {"c": checkpoint})
    with pytest.warns(Warning, match="pysqlite"):  # SQLite ignores the query's password (names it, not its value)
        listed = _run(ls_command, ["--store", url])
        as_json = _run(trials_command, ["demo", "--format", "json", "--store", url])
        best = _run(best_command, ["demo", "--store", url])
        best_yaml = _run(best_command, ["demo", "--format", "yaml", "--store", url])
    for result in (listed, as_json, best, best_yaml):
        assert result.exit_code == 0, result.output
        assert "s3cr3t" not in result.output and "wJalrXUtnF" not in result.output
    assert listed.stdout.splitlines()[0].rstrip() == f"sweeps in sqlite:///{home / 'store.sqlite'}?password=***"
    assert {t["checkpoint_path"] for t in json.loads(as_json.stdout)} == {shown_checkpoint}
    assert [line.split()[1:4] for line in best.stdout.splitlines() if "checkpoint" in line] == [
        ["checkpoint", "│", shown_checkpoint]]
    assert yaml.safe_load(best_yaml.stdout)["checkpoint_path"] == shown_checkpoint


def test_secrets_in_a_store_url_are_masked_in_its_errors(tmp_home: Path) -> None:
    unparsable = _run(ls_command, ["--store", "postgresql://hpo:s3cr3t@db:port/hpo?token=t0k"])
    assert unparsable.exit_code == 2
    assert unparsable.stderr == ("hpo ls: store URL 'postgresql://hpo:***@db:port/hpo?token=***' is not a "
                                 "SQLAlchemy URL (e.g. sqlite:///runs/store.sqlite)\n")
    missing = _run(ls_command, ["--store", f"sqlite:///{tmp_home / 'none.sqlite'}?password=s3cr3t"])
    assert missing.exit_code == 2
    assert missing.stderr == (f"hpo ls: no store at sqlite:///{tmp_home / 'none.sqlite'}?password=***; "
                              "`hpo sweep` creates one\n")


def test_report_writes_each_format_and_prints_the_path(home: Path, tmp_path: Path) -> None:
    for fmt, ext in (("json", "json"), ("csv", "csv"), ("md", "md")):
        result = _run(report_command, ["demo", "--format", fmt])
        assert result.exit_code == 0, result.output
        assert result.output == f"{home / 'reports' / f'demo.{ext}'}\n"
    target = tmp_path / "out" / "r.html"
    result = _run(report_command, ["demo", "-o", str(target)])
    assert result.output == f"{target}\n" and "<svg" in target.read_text()


def test_commands_read_while_another_connection_holds_a_write_lock(home: Path) -> None:
    """A sweep writing in another process holds SQLite's write lock for a moment: readers go on."""
    with Store.open() as store, store.engine.connect() as conn:
        conn.exec_driver_sql("UPDATE sweeps SET status = status")  # opens an IMMEDIATE-less write txn
        result = _run(trials_command, ["demo", "--format", "json"])
        assert result.exit_code == 0 and len(json.loads(result.output)) == 6
        conn.rollback()


def test_through_the_hpo_group_with_debug(home: Path) -> None:

    plain = CliRunner().invoke(cli, ["best", "dmeo"], env=ENV)
    assert plain.exit_code == 2 and "Traceback" not in plain.stderr
    debug = CliRunner().invoke(cli, ["best", "dmeo", "--debug"], env=ENV)
    assert debug.exit_code == 2 and "Traceback" in debug.stderr
    assert debug.stderr.rstrip().splitlines()[-1].startswith("hpo best: no sweep named 'dmeo'")
    assert CliRunner().invoke(cli, ["ls"], env=ENV).exit_code == 0
