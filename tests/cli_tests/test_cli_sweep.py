"""`hpo sweep` / `hpo resume`: exit codes, one-line errors before Ray starts, the summary."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from harness import run_hpo, start_hpo, wait_for

from hpo.search.cli.main import cli

TOY_DIR = Path(__file__).parents[1] / "search_tests"

SPEC: dict[str, Any] = {
    "name": "clitoy",
    "trainable": "toy:quadratic",
    "metric": "loss",
    "mode": "min",
    "search": {"algorithm": "random", "num_samples": 3, "seed": 0},
    "scheduler": {"type": "asha", "max_t": 4, "grace_period": 1, "reduction_factor": 2},
    "resources": {"cpu": 1, "gpu": 0},
    "params": {"x": {"type": "float", "low": -1.0, "high": 1.0}},
    "fixed": {"max_iter": 4},
}


@pytest.fixture(autouse=True)
def _toy_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TOY_DIR))


def _write(tmp_path: Path, **over: Any) -> str:
    data = {**SPEC, **over}
    path = tmp_path / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def _ray_up() -> bool:
    import ray

    return ray.is_initialized()


def test_unknown_trainable_exits_2_with_one_line_before_ray(tmp_home: Path, tmp_path: Path) -> None:
    before = _ray_up()
    result = CliRunner().invoke(cli, ["sweep", _write(tmp_path, trainable="nope.mod:fn"), "-q"])
    assert result.exit_code == 2, result.output
    assert result.output == ("hpo sweep: trainable 'nope.mod:fn': cannot import module 'nope.mod' "
                             "(No module named 'nope')\n")
    assert _ray_up() == before
    assert not (tmp_home / "ray").exists()


def test_impossible_resources_exit_2_before_ray(tmp_home: Path, tmp_path: Path) -> None:
    from hpo.search.cluster.local import local_gpu_count

    before = _ray_up()
    result = CliRunner().invoke(cli, ["sweep", _write(tmp_path, resources={"cpu": 1, "gpu": 64})])
    assert result.exit_code == 2, result.output
    if before:  # the session's Ray (2 logical GPUs) is what the sweep would join
        where, has, hint = "the running Ray instance", 2, "add a GPU node"
    else:
        where, has, hint = "this machine", local_gpu_count(), "set cluster.num_gpus"
    assert result.output == (
        f"hpo sweep: resources.gpu: each trial asks for 64 GPU(s) but {where} has {has} on its largest node; "
        f"lower resources.gpu or {hint}\n"
    )
    assert _ray_up() == before


def test_an_unfinished_name_points_to_resume(tmp_home: Path, tmp_path: Path) -> None:
    from hpo.results import Store

    Store.open().start_sweep(name="clitoy", spec_yaml="", spec_hash="", metric="loss", mode="min")
    result = CliRunner().invoke(cli, ["sweep", _write(tmp_path)])
    assert result.exit_code == 2
    assert result.output == (
        "hpo sweep: sweep 'clitoy' exists unfinished in the store (status running); continue it with "
        "`hpo resume clitoy` or start a new one with --name NEW_NAME\n"
    )


def test_storage_and_store_secrets_are_masked_in_the_one_line_error(tmp_home: Path, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'store.sqlite'}?password=s3cr3t"
    storage = "nosuch://AKIAEXAMPLE:wJalrXUtnF@bucket/runs?session_token=FwoG"
    with pytest.warns(Warning, match="pysqlite"):
        result = CliRunner().invoke(cli, ["sweep", _write(tmp_path), "--storage", storage, "--store", store])
    assert result.exit_code == 2
    shown = "nosuch://AKIAEXAMPLE:***@bucket/runs/clitoy?session_token=***"
    assert result.stderr == f"hpo sweep: storage: cannot reach {shown}: Unrecognized filesystem type in URI: {shown}\n"


def test_the_summary_shows_paths_and_errors_with_their_secrets_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    from hpo.results import TrialRecord
    from hpo.search.cli._shared import finish

    monkeypatch.delenv("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", raising=False)  # the tensorboard line too
    storage = "s3://AKIAEXAMPLE:wJalrXUtnF@bucket/runs"
    best = TrialRecord(sweep="clitoy", trial_id="t0", config={"x": 0.5}, status="completed", best_metric=0.25,
                       best_iteration=4, last_metric=0.25, iterations=4, last_result={"loss": 0.25},
                       checkpoint_path=f"{storage}/clitoy/t0/ckpt")
    outcome = SimpleNamespace(name="clitoy", status="finished", best=best, counts={"completed": 1, "error": 1},
                              experiment_path=f"{storage}/clitoy", store_url="sqlite:///s.sqlite?password=***",
                              first_error="Traceback\nOSError: cannot write s3://bucket/runs?secret_key=wJalrXUtnF",
                              reason=None, exit_code=0)

    @click.command()
    def summary() -> None:
        finish(outcome, metric="loss")

    result = CliRunner().invoke(summary)
    assert result.exit_code == 0
    shown = "s3://AKIAEXAMPLE:***@bucket/runs"
    assert result.stdout == ("sweep clitoy finished: 2 trial(s) (completed 1, error 1)\n"
                             "best trial t0: loss=0.25 at iteration 4\n"
                             "  config:  x=0.5\n"
                             "  metrics: loss=0.25\n"
                             f"  checkpoint: {shown}/clitoy/t0/ckpt\n"
                             f"logs: {shown}/clitoy\n"
                             f"tensorboard --logdir {shown}/clitoy\n"
                             "store: sqlite:///s.sqlite?password=***\n")
    assert result.stderr == "note: 1 trial(s) errored; first error: OSError: cannot write s3://bucket/runs?secret_key=***\n"


def test_bad_spec_override_exits_2(tmp_home: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sweep", _write(tmp_path), "--set", "mode=sideways"])
    assert result.exit_code == 2
    assert "mode" in result.output and "Traceback" not in result.output


def test_dry_run_starts_no_ray(tmp_home: Path, tmp_path: Path) -> None:
    before = _ray_up()
    result = CliRunner().invoke(cli, ["sweep", _write(tmp_path), "--dry-run", "--samples", "2"])
    assert result.exit_code == 0, result.output
    assert "Sample configs (2, seed 0)" in result.output and "  2. {" in result.output
    assert "  3. {" not in result.output
    assert _ray_up() == before
    assert not (tmp_home / "ray").exists()


@pytest.mark.integration
def test_sweep_prints_best_trial_checkpoint_logs_and_store(ray_session: None, tmp_home: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sweep", _write(tmp_path), "--name", "cli-run", "-q"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("sweep cli-run finished: 3 trial(s) (")
    assert lines[1].startswith("best trial ") and "loss=" in lines[1] and "at iteration" in lines[1]
    assert lines[2].startswith("  config:  x=")
    assert lines[3].startswith("  metrics: loss=")
    assert lines[4] == "  checkpoint: (none saved)"
    assert lines[5] == f"logs: {tmp_home / 'ray' / 'cli-run'}"
    assert lines[6] == f"tensorboard --logdir {tmp_home / 'ray' / 'cli-run'}"
    assert lines[7] == f"store: sqlite:///{tmp_home / 'store.sqlite'}"
    trial_dir = next((tmp_home / "ray" / "cli-run").glob("quadratic_*"))
    assert {"result.json", "progress.csv", "params.json"} <= {p.name for p in trial_dir.iterdir()}
    assert list(trial_dir.glob("events.out.tfevents.*"))


@pytest.mark.integration
def test_tunes_switch_for_its_loggers_leaves_trial_files_out_and_the_store_whole(
    ray_session: None, tmp_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hpo.results import Store

    monkeypatch.setenv("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    result = CliRunner().invoke(cli, ["sweep", _write(tmp_path, search={"algorithm": "random", "num_samples": 1}),
                                      "--name", "no-files", "-q"])
    assert result.exit_code == 0, result.output
    assert not any(line.startswith("tensorboard") for line in result.output.splitlines()), result.output
    trial_dir = next((tmp_home / "ray" / "no-files").glob("quadratic_*"))
    written = {p.name for p in trial_dir.iterdir()}
    assert not written & {"result.json", "progress.csv", "params.json", "params.pkl"}, written
    assert not list(trial_dir.glob("events.out.tfevents.*"))
    with Store.open(home=tmp_home) as store:
        assert len(store.results_frame("no-files")) == 4  # max_iter 4: every result is in the store


@pytest.mark.slow
@pytest.mark.integration
def test_ctrl_c_exits_130_and_resume_finishes(ray_session: None, tmp_home: Path, tmp_path: Path) -> None:
    import ray

    spec = _write(
        tmp_path,
        name="cli-int",
        trainable="toy:checkpointed",
        scheduler={"type": "fifo", "max_t": 6},
        search={"algorithm": "random", "num_samples": 3, "seed": 0},
        fixed={"max_iter": 6, "sleep": 0.5},
        cluster={"address": ray.get_runtime_context().gcs_address},
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TOY_DIR), os.environ.get("PYTHONPATH", "")])}
    proc = start_hpo("sweep", spec, cwd=Path.cwd(), env=env)
    # Plain progress lines (stdout is a pipe): wait for the first trial in the store, then Ctrl-C.
    from hpo.results import Store

    store = Store.open()
    wait_for(lambda: store.find_sweep("cli-int") is not None and sum(store.counts("cli-int").values()) >= 1,
             timeout=120, proc=proc, what="the sweep's first trial in the store")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "interrupted; continue it with `hpo resume cli-int`" in err
    assert store.get_sweep("cli-int").status == "interrupted"

    result = CliRunner().invoke(cli, ["resume", "cli-int", "-q"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("sweep cli-int finished: 3 trial(s) (completed 3)")
    best = store.best("cli-int")  # the best line names the metric, as `hpo sweep` prints it
    assert result.output.splitlines()[1] == (f"best trial {best.trial_id}: loss={best.best_metric:.6g} "
                                             f"at iteration {best.best_iteration}")
    assert json.loads(json.dumps(store.counts("cli-int")))["completed"] == 3


def test_resume_of_an_unknown_or_finished_sweep_exits_2(tmp_home: Path) -> None:
    from hpo.results import Store

    store = Store.open()
    store.start_sweep(name="done", spec_yaml="", spec_hash="", metric="loss", mode="min")
    store.finish_sweep("done", "finished")
    result = CliRunner().invoke(cli, ["resume", "done"])
    assert result.exit_code == 2
    assert result.output == ("hpo resume: sweep 'done' already finished; nothing to resume "
                             "(`hpo extend done --samples N` adds trials)\n")
    result = CliRunner().invoke(cli, ["resume", "nosuch"])
    assert result.exit_code == 2
    assert len(result.output.splitlines()) == 1 and "nosuch" in result.output


@pytest.mark.integration
@pytest.mark.parametrize("scheduler", ["fifo", "hyperband"])
def test_a_trainable_class_without_reset_config_and_more_trials_than_slots_finishes(
    ray_session: None, tmp_home: Path, tmp_path: Path, scheduler: str
) -> None:
    # The class Ray ships, unchanged: it has save/load_checkpoint but no reset_config (issue 14 hung here).
    spec = _write(
        tmp_path,
        name=f"mock-{scheduler}",
        trainable="ray.tune.utils.mock_trainable:MyTrainableClass",
        metric="episode_reward_mean",
        mode="max",
        search={"algorithm": "random", "num_samples": 4, "seed": 0},
        scheduler={"type": scheduler, "max_t": 3, "grace_period": 1, "reduction_factor": 2},
        params={"width": {"type": "float", "low": 1.0, "high": 10.0}},
        fixed={},
    )
    result = CliRunner().invoke(cli, ["sweep", spec, "-q"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"sweep mock-{scheduler} finished: 4 trial(s) (")
    assert "error" not in result.output.splitlines()[0]


# A user's project after hpo became one package: its trainable still imports an old top-level name.
OLD_NAMES = ("search", "spaces", "trainables", "results", "configs", "hpo_errors")
MIGRATION = "see docs/how-to/develop.md#from-the-old-import-names"


@pytest.fixture
def old_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The user's project folder as the working directory, where none of hpo's old names imports (this
    checkout's root, which holds search/ and spaces/, is taken off the path as an installed hpo has it)."""
    project = tmp_path / "proj"
    (project / "mylab").mkdir(parents=True)
    monkeypatch.chdir(project)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if not any(
        (Path(p or ".") / name).is_dir() or (Path(p or ".") / f"{name}.py").is_file() for name in OLD_NAMES)])
    for name in [m for m in sys.modules if m.partition(".")[0] in (*OLD_NAMES, "mylab")]:
        monkeypatch.delitem(sys.modules, name)
    yield project
    for name in [m for m in sys.modules if m.partition(".")[0] == "mylab"]:
        del sys.modules[name]


@pytest.mark.parametrize(("statement", "expected"), [
    ("from trainables import declare",
     "imports 'trainables', which is now 'hpo.trainables' (from hpo.trainables import declare)"),
    ("from search import run_sweep", "imports 'search', which is now 'hpo.search' (from hpo.search import run_sweep)"),
    ("import spaces", "imports 'spaces', which is now 'hpo.spaces' (from hpo import spaces)"),
    ("import hpo_errors", "imports 'hpo_errors', which is now 'hpo.errors' (from hpo import errors as hpo_errors)"),
    ("from results.store import Store",
     "imports 'results', which is now 'hpo.results' (from hpo.results.store import Store)"),
])
def test_a_trainable_importing_an_old_name_fails_with_one_line_naming_the_new_import(
    old_project: Path, tmp_home: Path, statement: str, expected: str
) -> None:
    (old_project / "mylab" / "train.py").write_text(f'"""A trainable written for the old names."""\n\n{statement}\n\n\n'
                                                    "def fit(config):\n    pass\n")
    (old_project / "spec.yaml").write_text(yaml.safe_dump({**SPEC, "trainable": "mylab.train:fit", "fixed": {}}))
    before = _ray_up()
    result = CliRunner().invoke(cli, ["sweep", "spec.yaml", "-q"])
    assert result.exit_code == 2, result.output
    assert result.output == f"hpo sweep: trainable 'mylab.train:fit': mylab/train.py line 3 {expected}; {MIGRATION}\n"
    assert _ray_up() == before


def test_a_spec_naming_an_old_module_path_fails_with_one_line_naming_the_new_one(old_project: Path,
                                                                                 tmp_home: Path) -> None:
    (old_project / "spec.yaml").write_text(yaml.safe_dump({**SPEC, "trainable": "trainables.training:train_epochs",
                                                            "fixed": {}}))
    result = CliRunner().invoke(cli, ["sweep", "spec.yaml", "-q"])
    assert result.exit_code == 2, result.output
    assert result.output == ("hpo sweep: trainable 'trainables.training:train_epochs': 'trainables.training' is now "
                             "'hpo.trainables.training' (write trainable: hpo.trainables.training:...); "
                             f"{MIGRATION}\n")


def test_a_missing_module_of_the_users_own_named_like_an_old_name_is_not_taken_for_one(old_project: Path,
                                                                                         tmp_home: Path) -> None:
    (old_project / "spec.yaml").write_text(yaml.safe_dump({**SPEC, "trainable": "search:fit", "fixed": {}}))
    result = CliRunner().invoke(cli, ["sweep", "spec.yaml", "-q"])
    assert result.exit_code == 2, result.output
    assert result.output == ("hpo sweep: trainable 'search:fit': cannot import module 'search' "
                             "(No module named 'search')\n")


# A user's trainable reading config["l2"] while the spec searches l_2 (issue 41): the trainable declares
# nothing, so `hpo validate` passes and only the trials can tell.
TYPO_TRAINABLE = '''"""Reads a key the spec does not set."""

from ray import tune


def train(config):
    tune.report({"loss": config["l2"]})
'''


def _typo_spec(tmp_path: Path, **over: Any) -> str:
    (tmp_path / "typo_train.py").write_text(TYPO_TRAINABLE)  # next to the spec: importable from its folder
    return _write(tmp_path, trainable="typo_train:train", scheduler={"type": "fifo", "max_t": 1},
                  params={"l_2": {"type": "float", "low": 0.1, "high": 1.0}}, fixed={}, **over)


@pytest.mark.integration
def test_trials_failing_alike_end_the_sweep_fast_with_a_did_you_mean_in_six_lines(
    ray_session: None, tmp_home: Path, tmp_path: Path
) -> None:
    import ray

    from hpo.results import Store

    # One trial at a time, so the run of three is the same however fast the machine is.
    spec = _typo_spec(tmp_path, name="typo", search={"algorithm": "random", "num_samples": 5, "seed": 0,
                                                      "max_concurrent": 1},
                      cluster={"address": ray.get_runtime_context().gcs_address})
    done = run_hpo("sweep", spec, "-q", cwd=tmp_path)  # the whole console output: no Ray traceback in it
    reason = ("3 trials in a row failed with KeyError: 'l2' before reporting anything; "
              "config has no 'l2'; it has 'l_2' (params.l_2)")
    assert (done.returncode, done.stdout.splitlines(), done.stderr.splitlines()) == (1, [
        "sweep typo failed: 3 trial(s) (error 3)",
        f"logs: {tmp_home / 'ray' / 'typo'}",
        f"tensorboard --logdir {tmp_home / 'ray' / 'typo'}",
        f"store: sqlite:///{tmp_home / 'store.sqlite'}",
    ], [
        f"hpo: sweep typo failed fast: {reason}",
        "  tracebacks: `hpo trials typo --errors`; fix it, then `hpo resume typo`; "
        "or set failures.fail_fast: false to run every trial anyway",
    ])
    with Store.open(home=tmp_home) as store:
        assert (store.get_sweep("typo").status, store.get_sweep("typo").reason) == ("failed", reason)
        errored = store.trials("typo")
    assert all(t.error.endswith("KeyError: 'l2'") for t in errored)  # the tracebacks are kept...
    kept = (tmp_home / "ray" / "typo").glob("*/error.txt")  # ...and each trial's error.txt, where logs: says
    assert sorted(p.parent.name for p in kept) == sorted(f"train_{t.trial_id}" for t in errored)


@pytest.mark.integration
def test_fail_fast_false_runs_every_trial(ray_session: None, tmp_home: Path, tmp_path: Path) -> None:
    spec = _typo_spec(tmp_path, name="typo-all", search={"algorithm": "random", "num_samples": 4, "seed": 0},
                      failures={"fail_fast": False})
    result = CliRunner().invoke(cli, ["sweep", spec, "-q"])
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[0] == "sweep typo-all failed: 4 trial(s) (error 4)"
    assert result.stderr == ("hpo: every trial errored; first error: KeyError: 'l2'\n"
                             "  tracebacks: `hpo trials typo-all --errors`\n")
