"""The argv rule and the environment of a command trial (no Ray): what the dry run shows is what runs."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from hypothesis import given
from hypothesis import strategies as st

from hpo.trainables.command.argv import build_argv, hydra_value, placeholders, split_placeholders
from hpo.trainables.command.env import THREAD_VARS, trial_env
from hpo.trainables.command.settings import CommandSettings, TrialPaths

PATHS = TrialPaths(trial_id="abc_00001", trial_dir="/runs/t1", checkpoint_dir="/runs/t1/ckpt", spec_dir="/spec",
                   config_json="/runs/t1/hpo_config.json", sweep="sw")


def _settings(command: str | list[str], *, args: str = "flags", spec_dir: str = "/spec",
              **more: Any) -> CommandSettings:
    tokens = shlex.split(command) if isinstance(command, str) else command
    return CommandSettings(tokens=tuple(tokens), args=args, cwd="trial", spec_dir=spec_dir, **more)


CONFIG = {"lr": 0.01, "use_amp": True, "cutout": False, "note": "two words", "epochs": 3,
          "optimizer": {"name": "sgd", "momentum": 0.9}}


def test_flags_booleans_groups_and_a_value_with_spaces_stay_one_element() -> None:
    argv = build_argv(_settings("python train.py --epochs {epochs}"), CONFIG, paths=PATHS)
    assert argv == [sys.executable, "train.py", "--epochs", "3", "--lr=0.01", "--use_amp", "--note=two words",
                    "--optimizer.name=sgd", "--optimizer.momentum=0.9"]


def test_hydra_form_and_none() -> None:
    assert build_argv(_settings("./app.sh", args="hydra"), CONFIG, paths=PATHS) == [
        "./app.sh", "lr=0.01", "use_amp=true", "cutout=false", "note='two words'", "epochs=3",
        "optimizer.name=sgd", "optimizer.momentum=0.9"]
    assert build_argv(_settings("./app.sh --lr {lr}", args="none"), CONFIG, paths=PATHS) == ["./app.sh", "--lr", "0.01"]


def test_floats_are_written_as_python_reads_them_back() -> None:
    config = {"a": 0.01, "b": 1e-05, "c": 0.1 + 0.2, "d": 3}
    assert build_argv(_settings("prog"), config, paths=PATHS)[1:] == [
        "--a=0.01", "--b=1e-05", "--c=0.30000000000000004", "--d=3"]


def test_placeholders_fill_groups_builtins_and_braces_escape() -> None:
    settings = _settings(["prog", "--m={optimizer.momentum}", "{{literal}}", "{trial_dir}/out", "{trial_id}",
                          "{checkpoint_dir}", "{spec_dir}", "--opt={optimizer}"], args="flags")
    assert placeholders(settings) == ["optimizer.momentum", "trial_dir", "trial_id", "checkpoint_dir", "spec_dir",
                                      "optimizer"]
    argv = build_argv(settings, CONFIG, paths=PATHS)
    assert argv == ["prog", "--m=0.9", "{literal}", "/runs/t1/out", "abc_00001", "/runs/t1/ckpt", "/spec",
                    '--opt={"name":"sgd","momentum":0.9}', "--lr=0.01", "--use_amp", "--note=two words",
                    "--epochs=3"]


def test_a_leaf_used_by_a_placeholder_is_not_repeated() -> None:
    argv = build_argv(_settings("prog --momentum {optimizer.momentum} {lr}"), CONFIG, paths=PATHS)
    assert argv == ["prog", "--momentum", "0.9", "0.01", "--use_amp", "--note=two words", "--epochs=3",
                    "--optimizer.name=sgd"]


def test_the_dry_run_shows_the_trials_paths_as_names() -> None:
    argv = build_argv(_settings("prog {trial_dir} {spec_dir} {checkpoint_dir} {trial_id}", args="none"), {},
                      paths=None)
    assert argv == ["prog", "<trial_dir>", "/spec", "<checkpoint_dir>", "<trial_id>"]


@pytest.mark.parametrize(("token", "message"), [
    ("{", "{ in '{' is not a {name} placeholder; write {{ and }} for literal braces"),
    ("a{1x}", "{1x} in 'a{1x}' is not a {name} placeholder; write {{ and }} for literal braces"),
    ("a}b", "unmatched } in 'a}b'; write }} for a literal brace"),
])
def test_a_stray_brace_says_how_to_write_one(token: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        split_placeholders(token)
    assert str(err.value) == message


def test_lists_and_null_cannot_be_flags() -> None:
    with pytest.raises(ValueError) as err:
        build_argv(_settings("prog"), {"layers": [64, 128]}, paths=PATHS)
    assert str(err.value) == ("layers: args: flags cannot pass a list as one flag (got [64, 128]); use args: hydra, "
                              "or {layers} with args: none")
    assert build_argv(_settings("prog {layers}", args="none"), {"layers": [64, 128], "x": None}, paths=PATHS) == [
        "prog", "[64,128]"]
    assert build_argv(_settings("prog", args="hydra"), {"layers": [64, 128], "x": None}, paths=PATHS) == [
        "prog", "layers=[64,128]", "x=null"]


def test_python_is_this_interpreter_and_scripts_in_the_spec_folder_become_absolute(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("")
    (tmp_path / "run.sh").write_text("")
    spec_dir = str(tmp_path)
    assert build_argv(_settings("python3 -u train.py", args="none", spec_dir=spec_dir), {}, paths=PATHS) == [
        sys.executable, "-u", str(tmp_path / "train.py")]
    assert build_argv(_settings("python -m pkg.train train.py", args="none", spec_dir=spec_dir), {}, paths=PATHS) == [
        sys.executable, "-m", "pkg.train", "train.py"]
    assert build_argv(_settings("./run.sh train.py", args="none", spec_dir=spec_dir), {}, paths=PATHS) == [
        str(tmp_path / "run.sh"), "train.py"]
    assert build_argv(_settings("echo missing.py", args="none", spec_dir=spec_dir), {}, paths=PATHS) == [
        "echo", "missing.py"]


TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
VALUES = st.one_of(TEXT, st.sampled_from(["two words", "it's", 'say "hi"', "a=b", "-x", "--lr=1", "é ü 漢",
                                          "${x}", "a,b", "\\", "'", ""]),
                   st.integers(-10**6, 10**6), st.floats(allow_nan=False), st.booleans())


@given(st.dictionaries(st.from_regex(r"[a-z][a-z_]{0,6}", fullmatch=True), VALUES, max_size=5),
       st.sampled_from(["flags", "hydra", "none"]))
def test_the_shown_line_splits_back_to_the_same_argv(config: dict[str, Any], args: str) -> None:
    argv = build_argv(_settings(["prog", "--x", "{trial_dir}"], args=args), config, paths=PATHS)
    assert shlex.split(shlex.join(argv)) == argv
    if args == "flags":
        expected = [f"--{k}={v!r}" if isinstance(v, float) else f"--{k}={v}"
                    for k, v in config.items() if not isinstance(v, bool)]
        assert [a for a in argv[3:] if "=" in a and a.split("=", 1)[0][2:] in config] == expected


@given(st.one_of(VALUES, st.none(), st.lists(st.one_of(st.integers(-9, 9), TEXT), max_size=3)))
def test_hydra_reads_every_value_back_as_itself(value: Any) -> None:
    parsed = OverridesParser.create().parse_overrides([f"key={hydra_value(value)}"])[0].value()
    if isinstance(value, str) and "${" in value:
        value = value.replace("${", "\\${")  # OmegaConf unescapes \${ when the app reads it
    assert parsed == value and type(parsed) is type(value)


def test_hydra_quotes_only_what_would_not_read_back() -> None:
    assert [hydra_value(v) for v in ["sgd", "/data/x", "0.01", "true", "two words", "it's", "a,b", "a\\", "${x}"]] == [
        "sgd", "/data/x", "'0.01'", "'true'", "'two words'", "'it\\'s'", "'a,b'", "'a\\\\'", "'\\${x}'"]


def test_trial_env_sets_hpo_keys_gpus_and_threads_then_the_specs_env() -> None:
    settings = _settings("prog", cpu=2.5, env={"MKL_NUM_THREADS": "8", "OUT": "{trial_dir}/o", "LR": "{lr}"})
    env = trial_env(settings, paths=PATHS, gpu_ids=[], base={"PATH": "/bin", "OMP_NUM_THREADS": "16"},
                    config={"lr": 0.5})
    assert env == {
        "PATH": "/bin", "HPO_TRIAL_ID": "abc_00001", "HPO_TRIAL_DIR": "/runs/t1", "HPO_SPEC_DIR": "/spec",
        "HPO_CONFIG_JSON": "/runs/t1/hpo_config.json", "HPO_CHECKPOINT_DIR": "/runs/t1/ckpt", "HPO_SWEEP": "sw",
        "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "NUMEXPR_NUM_THREADS": "2",
        "VECLIB_MAXIMUM_THREADS": "2", "PYTHONUNBUFFERED": "1", "PYTHONPATH": "/spec", "MKL_NUM_THREADS": "8",
        "OUT": "/runs/t1/o", "LR": "0.5"}
    assert set(THREAD_VARS) <= set(env)
    gpu = trial_env(_settings("prog", cpu=0.5, env={"PYTHONUNBUFFERED": "0"}), paths=PATHS, gpu_ids=["2", "3"],
                    base={})
    assert (gpu["CUDA_VISIBLE_DEVICES"], gpu["OMP_NUM_THREADS"], gpu["PYTHONUNBUFFERED"]) == ("2,3", "1", "0")
    inherited = trial_env(_settings("prog"), paths=PATHS, gpu_ids=[], base={"PYTHONPATH": "/lib"})
    assert inherited["PYTHONPATH"] == "/spec" + os.pathsep + "/lib"
    assert trial_env(_settings("prog", env={"PYTHONPATH": "/own"}), paths=PATHS, gpu_ids=[],
                     base={"PYTHONPATH": "/lib"})["PYTHONPATH"] == "/own"
