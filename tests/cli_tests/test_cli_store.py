"""``hpo ls / trials / best / report``, invoked as click commands on a temporary store."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
import sys
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner, Result
from sqlalchemy import text
from store_rows import fill_sweep

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


# --------------------------------------------------------------------------- at 80 columns, and the errors view
NARROW = {"COLUMNS": "80", "NO_COLOR": "1"}
RANDOM = """\
name: rnd-2026-12-06-lr-momentum
trainable: tests.fake:train
metric: val_loss
mode: min
search: {algorithm: random, num_samples: 12, seed: 0}
scheduler: {type: asha, max_t: 3, grace_period: 1, reduction_factor: 2}
params:
  lr: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}
  momentum: {type: float, low: 0.5, high: 0.99}
  batch_size: {type: choice, values: [64, 128]}
fixed: {dataset: synthetic, epochs: 3}
"""
RANDOM_NAME = "rnd-2026-12-06-lr-momentum"


def _random_trials() -> dict[str, tuple[dict[str, object], list[float], str]]:
    """12 trials with Ray's random-search ids (``e4790_00000``...: alike but for the last digits), a third
    stopped early by ASHA after one iteration, one errored."""
    trials: dict[str, tuple[dict[str, object], list[float], str]] = {}
    for i in range(12):
        values = [2.31 - 0.001 * i, 2.2958 - 0.0001 * i, 2.2957 - 0.0001 * i][: 3 if i % 3 else 1]
        config = {"lr": 0.0001234 * (i + 1), "momentum": 0.5 + 0.037 * i, "batch_size": 64 << (i % 2),
                  "dataset": "synthetic", "epochs": 3}
        trials[f"e4790_{i:05d}"] = (config, values, "error" if i == 7 else "complete")
    return trials


@pytest.fixture
def narrow_store(tmp_path: Path) -> str:
    """The URL of a store (in a folder with a long name) holding the random search, every trial on one node."""
    folder = tmp_path / "a-rather-long-folder-name-for-the-run-home-of-this-team-2026-12-06"
    folder.mkdir()
    url = f"sqlite:///{folder}/store.sqlite"
    with Store.open(url) as store:
        fill_sweep(store, RANDOM_NAME, RANDOM, _random_trials())
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE trials SET node = '10.128.0.17 0f8a9c31d2e4b5a6'"))
    return url


def _narrow(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), env=NARROW, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_trials_at_80_columns_keep_ids_status_and_metric_whole(narrow_store: str) -> None:
    """Before: rich cut every id to `e4790_00…` (all alike), `stopped_ear…`, the metric's heading and the
    ranks past 9; now what does not fit is left out, and a line says which."""
    result = _narrow("trials", RANDOM_NAME, "--store", narrow_store)
    assert result.stdout == """\
rnd-2026-12-06-lr-momentum: 12 trials by val_loss (min, scope last)
┏━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━━┳━━━━━━━┳━━━━━━━━━━━┓
┃  # ┃ trial       ┃ status        ┃ val_loss ┃ best@iter ┃ iters ┃ lr        ┃
┡━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━╇━━━━━━━━━━━┩
│  1 │ e4790_00011 │ completed     │ 2.2946   │ 2.2946@3  │     3 │ 0.001481  │
│  2 │ e4790_00010 │ completed     │ 2.2947   │ 2.2947@3  │     3 │ 0.001357  │
│  3 │ e4790_00008 │ completed     │ 2.2949   │ 2.2949@3  │     3 │ 0.001111  │
│  4 │ e4790_00007 │ error         │ 2.295    │ 2.295@3   │     3 │ 0.0009872 │
│  5 │ e4790_00005 │ completed     │ 2.2952   │ 2.2952@3  │     3 │ 0.0007404 │
│  6 │ e4790_00004 │ completed     │ 2.2953   │ 2.2953@3  │     3 │ 0.000617  │
│  7 │ e4790_00002 │ completed     │ 2.2955   │ 2.2955@3  │     3 │ 0.0003702 │
│  8 │ e4790_00001 │ completed     │ 2.2956   │ 2.2956@3  │     3 │ 0.0002468 │
│  9 │ e4790_00009 │ stopped_early │ 2.301    │ 2.301@1   │     1 │ 0.001234  │
│ 10 │ e4790_00006 │ stopped_early │ 2.304    │ 2.304@1   │     1 │ 0.0008638 │
│ 11 │ e4790_00003 │ stopped_early │ 2.307    │ 2.307@1   │     1 │ 0.0004936 │
│ 12 │ e4790_00000 │ stopped_early │ 2.31     │ 2.31@1    │     1 │ 0.0001234 │
└────┴─────────────┴───────────────┴──────────┴───────────┴───────┴───────────┘
left out at 80 columns: node, momentum, batch_size (--format json has them)
"""
    wide = CliRunner().invoke(cli, ["trials", RANDOM_NAME, "--store", narrow_store], env=ENV).stdout
    assert "10.128.0.17/0f8a9c31" in wide and "left out" not in wide  # 200 columns: every column


def test_ls_at_80_columns_keeps_name_status_best_and_start_whole(narrow_store: str) -> None:
    """Before: the date cut to `2026-…`, the metric to `val_lo…`, CPU-h cut and GPU-h gone without a word."""
    lines = _narrow("ls", "--store", narrow_store).stdout.splitlines()
    folder = narrow_store.removeprefix("sqlite:///").removesuffix("/store.sqlite")
    assert lines[0] == f"sweeps in sqlite:///{folder}/store.sqlite"
    assert all(len(line) <= 80 for line in lines[1:])
    assert "…" not in "".join(lines)
    cells = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines if line.startswith("│")]
    # A folded name is read back without spaces, wrapped cells with one between their lines.
    columns = [("" if i == 0 else " ").join(c for c in column if c)
               for i, column in enumerate(zip(*cells, strict=True))]
    assert columns[:4] == ["rnd-2026-12-06-lr-momentum", "finished", "12: 7 done, 4 early, 1 err",
                           "val_loss 2.2946 (min)"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", columns[4]) and columns[5] == "0s"
    assert lines[-1] == "left out at 80 columns: CPU-h, GPU-h (a wider terminal shows them)"


def test_best_at_80_columns(narrow_store: str) -> None:
    lines = _narrow("best", RANDOM_NAME, "--store", narrow_store).stdout.splitlines()
    assert lines[:5] == ["best trial of rnd-2026-12-06-lr-momentum (val_loss, min, scope last)",
                         "┌───────────────────────────┬───────────────────────┐",
                         "│ trial                     │ e4790_00011           │",
                         "│ status                    │ completed             │",
                         "│ val_loss (last)           │ 2.2946                │"]


def test_a_long_value_folds_and_nothing_is_cut(tmp_home: Path) -> None:
    long_tag = "x" * 150
    trials = {"e4790_00000": ({"tag": long_tag}, [0.5], "complete"), "e4790_00001": ({"tag": "y"}, [0.4], "complete")}
    with Store.open() as store:
        fill_sweep(store, "long", RANDOM.replace(RANDOM_NAME, "long"), trials)
    best = CliRunner().invoke(cli, ["best", "long", "--scope", "all"], env=NARROW).stdout
    assert all(len(line) <= 80 for line in best.splitlines())
    assert "e4790_00001" in best
    table = CliRunner().invoke(cli, ["trials", "long"], env=NARROW).stdout
    assert "e4790_00000" in table and "e4790_00001" in table
    assert table.splitlines()[-1] == "left out at 80 columns: tag (--format json has them)"


def test_the_sweep_summary_shows_the_best_in_hpo_best_s_scope(tmp_home: Path) -> None:
    """The best by the last value (scope `last`, `hpo best`'s default) is shown with that value, not its best
    over iterations (before: `val_loss=2.29577 at iteration 1` beside `hpo best`'s 2.29579)."""
    from hpo.search.cli._shared import finish
    from hpo.search.engine.sweep import SweepOutcome

    trials = {"a": ({"lr": 0.1}, [2.29577, 2.29579], "complete"), "b": ({"lr": 0.2}, [2.31, 2.2959], "complete")}
    with Store.open() as store:
        fill_sweep(store, "scope", RANDOM.replace(RANDOM_NAME, "scope"), trials)
        outcome = SweepOutcome(name="scope", status="finished", best=store.best("scope"),
                               counts=store.counts("scope"), store_url=store.url_masked)

    @click.command()
    def summary() -> None:
        finish(outcome, metric="val_loss")

    shown = CliRunner().invoke(summary).stdout.splitlines()
    assert shown[1] == "best trial a: val_loss=2.29579 at iteration 2"
    best = json.loads(_run(best_command, ["scope", "--format", "json"]).stdout)
    assert (best["trial_id"], best["last_metric"], best["iterations"]) == ("a", 2.29579, 2)


ERROR_TEXT = """\
Failure # 1 (occurred at 2026-12-06_10-00-00)
ray::ImplicitFunc.train() (pid=4242, ip=10.128.0.17, actor_id=5c1b)
  File "/venv/lib/python3.11/site-packages/ray/tune/trainable/trainable.py", line 331, in train
    raise skipped from exception_cause(skipped)
  File "/venv/lib/python3.11/site-packages/ray/air/_internal/util.py", line 107, in run
    self._ret = self._target(*self._args, **self._kwargs)
  File "/home/me/train.py", line 9, in train
    data = load("s3://AKIAEXAMPLE:wJalrXUtnF@bucket/data")
  File "/home/me/train.py", line 12, in train
    print("\x1b[31m[bold red]width[/bold red]\x1b[0m")
    width = config["l2"]
            ~~~~~~^^^^^^
KeyError: 'l2'
"""


@pytest.fixture
def errored(tmp_home: Path, tmp_path: Path) -> Path:
    """A sweep with three errored trials: one with its error file in Ray's experiment folder, one run again
    as a new trial (resume --restart-errored), one whose folder is gone. Returns the experiment folder."""
    experiment = tmp_path / "ray" / "bad"
    trials = {"e4790_00000": ({"lr": 0.01, "l_2": 32}, [0.5], "complete"),
              "e4790_00001": ({"lr": 0.001234567, "l_2": 64}, [], "error"),
              "e4790_00002": ({"lr": 0.1, "l_2": 16}, [], "error"),
              "e4790_00003": ({"lr": 0.1, "l_2": 16}, [0.7], "complete"),
              "e4790_00004": ({"lr": 0.2, "l_2": 16}, [], "error")}
    with Store.open() as store:
        fill_sweep(store, "bad", RANDOM.replace(RANDOM_NAME, "bad"), trials)
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE sweeps SET experiment_path = :p"), {"p": str(experiment)})
            conn.execute(text("UPDATE trials SET error = :e WHERE trial_id IN ('e4790_00001', 'e4790_00002')"),
                         {"e": ERROR_TEXT})
            conn.execute(text("UPDATE trials SET error = :e, replaced_by = 'e4790_00003' "
                              "WHERE trial_id = 'e4790_00002'"), {"e": "ValueError: [link=x]no[/link]\n"})
            conn.execute(text("UPDATE trials SET error = NULL WHERE trial_id = 'e4790_00004'"))
    for tid in ("e4790_00001", "e4790_00002"):
        (experiment / f"train_{tid}").mkdir(parents=True)
        (experiment / f"train_{tid}" / "error.txt").write_text(ERROR_TEXT)
    (experiment / "train_e4790_000011").mkdir()  # another id that starts alike: not e4790_00001's folder
    return experiment


def test_trials_errors_shows_each_errored_trial_readably(errored: Path) -> None:
    result = _run(trials_command, ["bad", "--errors"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"""\
sweep bad: 3 errored trials (1 of them ran again as new trials)

e4790_00001  KeyError: 'l2'
  config: lr=0.001235, l_2=64
  its error, the last 10 lines:
      File "/venv/lib/python3.11/site-packages/ray/tune/trainable/trainable.py", line 331, in train
        raise skipped from exception_cause(skipped)
      File "/venv/lib/python3.11/site-packages/ray/air/_internal/util.py", line 107, in run
        self._ret = self._target(*self._args, **self._kwargs)
      File "/home/me/train.py", line 9, in train
        data = load("s3://AKIAEXAMPLE:***@bucket/data")
      File "/home/me/train.py", line 12, in train
        print("[bold red]width[/bold red]")
        width = config["l2"]
    KeyError: 'l2'
  error file: {errored}/train_e4790_00001/error.txt

e4790_00002  ValueError: [link=x]no[/link]
  config: lr=0.1, l_2=16
  replaced by trial e4790_00003: its config ran again (resume --restart-errored)
  its error:
    ValueError: [link=x]no[/link]
  error file: {errored}/train_e4790_00002/error.txt

e4790_00004  (no error text recorded)
  config: lr=0.2, l_2=16
  error file: none found under {errored}; `hpo trials bad --errors --format json` has the text
"""
    assert "wJalrXUtnF" not in result.stdout and "\x1b" not in result.stdout


COMMAND_ERROR = """Failure # 1 (occurred at 2026-12-07_06-10-00)
Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/hpo/trainables/command/trial.py", line 375, in _run
    trial.outcome(int(payload))
  File "/venv/lib/python3.11/site-packages/hpo/trainables/command/trial.py", line 268, in outcome
    raise CommandMetricError(
hpo.trainables.command.errors.CommandMetricError: python nan.py exited with code 0 without reporting val_loss \
(sources read: report lines)
report lines: 2 lines, 1 report line, 1 malformed (not a JSON object after hpo-report:)
its output, last 20 lines:
  | hpo-report: {val_loss: 0.3}
""" + "".join(f"  | epoch {i}\n" for i in range(30))


def test_a_message_of_several_lines_is_shown_from_its_first_line_not_the_frames_above(home: Path) -> None:
    """A command trial's error says what was read and ends with the script's output: that, not hpo's frames."""
    with Store.open() as store:
        fill_sweep(store, "cmd", RANDOM.replace(RANDOM_NAME, "cmd"), {"t0": ({"lr": 0.1}, [], "error")})
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE trials SET error = :e"), {"e": COMMAND_ERROR})
    lines = _run(trials_command, ["cmd", "--errors"]).stdout.splitlines()
    summary = ("hpo.trainables.command.errors.CommandMetricError: python nan.py exited with code 0 without "
               "reporting val_loss (sources read: report lines)")
    assert lines[2:8] == [
        f"t0  {summary}",
        "  config: lr=0.1",
        "  its error, its message (30 of 34 lines):",
        f"    {summary}",
        "    report lines: 2 lines, 1 report line, 1 malformed (not a JSON object after hpo-report:)",
        "    its output, last 20 lines:"]
    assert lines[8:11] == ["      | hpo-report: {val_loss: 0.3}", "      | epoch 0", "      | epoch 1"]
    assert lines[-2] == "      | epoch 25"


def test_trials_errors_as_json_lists_the_errored_trials_only(errored: Path) -> None:
    data = json.loads(_run(trials_command, ["bad", "--errors", "--format", "json"]).stdout)
    assert [(t["trial_id"], t["replaced_by"]) for t in data] == [
        ("e4790_00001", None), ("e4790_00002", "e4790_00003"), ("e4790_00004", None)]


def test_trials_errors_without_errors_is_one_line(home: Path) -> None:
    with Store.open() as store:
        fill_sweep(store, "clean", RANDOM.replace(RANDOM_NAME, "clean"), {"t0": ({"lr": 0.1}, [0.5], "complete")})
    assert _run(trials_command, ["clean", "--errors"]).stdout == "sweep clean: no trial errored (1 trial)\n"


def test_trials_errors_on_remote_storage_says_where_the_error_file_is(errored: Path) -> None:
    with Store.open() as store, store.engine.begin() as conn:
        conn.execute(text("UPDATE sweeps SET experiment_path = 's3://AKIAEXAMPLE:wJalrXUtnF@bucket/runs/bad'"))
    lines = _run(trials_command, ["bad", "--errors"]).stdout.splitlines()
    assert [line for line in lines if "error file" in line] == [
        f"  error file: in Ray's storage, s3://AKIAEXAMPLE:***@bucket/runs/bad/<trainable>_{tid}/error.txt"
        for tid in ("e4790_00001", "e4790_00002", "e4790_00004")]
