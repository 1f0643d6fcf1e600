"""The ``trainable: {command: ...}`` form of a spec: its shape errors word for word, its round trip, its label."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hpo.spaces import SpecError, load_spec, parse_spec
from hpo.spaces.command import CommandSpec

BASE: dict[str, Any] = {"name": "c", "metric": "val_loss", "mode": "min",
                        "params": {"lr": {"type": "float", "low": 0.1, "high": 1.0}}}


def _problems(trainable: Any, **more: Any) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as err:
        parse_spec({**BASE, "trainable": trainable, **more})
    return err.value.problems


@pytest.mark.parametrize(("trainable", "problem"), [
    (3, ("trainable", 'must be a registry name, "package.module:function", or a mapping with command: (a script to '
                      "run), got 3")),
    ({"command": ""}, ("trainable.command", "must not be empty: the program and its arguments, e.g. python train.py "
                                            "--epochs {epochs}")),
    ({"command": []}, ("trainable.command", "must not be empty: the program and its arguments, e.g. python train.py "
                                            "--epochs {epochs}")),
    ({"command": "python 'a"}, ("trainable.command", "cannot be split as a shell would (No closing quotation); quote "
                                                     "it, or give a list")),
    ({"command": "x", "stop_grace": "20m"}, ("trainable.stop_grace", "must be at most 10m (Ray Tune force-ends a "
                                                                     "stopping trial after 600 s), got 20m")),
    ({"command": "x", "metrics": {"lines": False}}, ("trainable.metrics", "reads nothing (lines: false, no regex, no "
                                                                          "tensorboard); turn one on")),
    ({"command": "x", "metrics": {"regex": ["(?P<val_loss>1)", "Average loss: (?P<val_loss"]}},
     ("trainable.metrics.regex[1]", "does not compile: missing >, unterminated name at position 18")),
    ({"command": "x", "metrics": {"regex": ["loss: ([0-9.]+)"]}},
     ("trainable.metrics.regex[0]", "names no metric; give a named group, e.g. Average loss: (?P<val_loss>[0-9.]+)")),
    ({"command": "x", "metrics": {"tensorboard": {"tags": {}}}},
     ("trainable.metrics.tensorboard.tags", "must map at least one tag to a metric, e.g. {Loss/test: val_loss}")),
    ({"command": "x", "metrics": {"lines": False, "regex": ["(?P<val_acc>1)"], "tensorboard": {"tags": {"a": "loss"}}}},
     ("metric", "no source in trainable.metrics gives 'val_loss' (regex groups: val_acc; tags give: loss); name a "
                "group (?P<val_loss>...), map a tag to it, or turn lines: on")),
    ({"command": "x", "metrics": {"lnes": True}},
     ("trainable.metrics.lnes", "unknown key (did you mean 'lines'?); allowed: lines, regex, tensorboard")),
    ({"command": "x", "args": "json"}, ("trainable.args", "must be one of 'flags', 'hydra', 'none', got 'json'")),
])
def test_a_bad_shape_gets_its_one_line(trainable: Any, problem: tuple[str, str]) -> None:
    assert _problems(trainable) == [problem]


def test_env_may_not_set_what_hpo_sets() -> None:
    assert _problems({"command": "x", "env": {"CUDA_VISIBLE_DEVICES": "0", "HPO_X": "1", "A": 1}}) == [
        ("trainable.env.CUDA_VISIBLE_DEVICES", "set by hpo to the GPUs Ray gave the trial; use resources.gpu"),
        ("trainable.env.HPO_X", "set by hpo for each trial")]


def test_a_command_spec_round_trips_through_yaml() -> None:
    spec = parse_spec({**BASE, "trainable": {
        "command": ["python", "train.py", "--note", "two words"], "args": "hydra", "cwd": "work",
        "env": {"A": 1, "B": True}, "stop_grace": "30s",
        "metrics": {"lines": False, "regex": ["loss=(?P<val_loss>[0-9.]+)"],
                    "tensorboard": {"dir": "logs", "tags": {"Loss/test": "val_loss"}}}}})
    assert isinstance(spec.trainable, CommandSpec) and spec.command is spec.trainable
    assert spec.command.env == {"A": "1", "B": "true"} and spec.command.stop_grace == 30.0
    assert spec.to_dict()["trainable"]["stop_grace"] == "30s"
    again = parse_spec(yaml.safe_load(spec.to_yaml()))
    assert again == spec and again.spec_hash() == spec.spec_hash()
    assert spec.trainable_label == "command: python train.py --note 'two words'"


def test_the_defaults_are_written_out_and_set_overrides_reach_the_command(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({**BASE, "trainable": {"command": "python train.py --epochs {epochs}"}}))
    spec = load_spec(path, overrides=["trainable.args=hydra"])
    assert spec.to_dict()["trainable"] == {
        "command": "python train.py --epochs {epochs}", "args": "hydra", "cwd": "trial", "env": {},
        "metrics": {"lines": True, "regex": [], "tensorboard": None}, "stop_grace": "10s"}
    assert spec.trainable_label == "command: python train.py --epochs {epochs}"


def test_a_string_trainable_stays_a_string() -> None:
    spec = parse_spec({**BASE, "trainable": "pkg.mod:fn"})
    assert spec.command is None and spec.trainable_label == "pkg.mod:fn"
    assert spec.to_dict()["trainable"] == "pkg.mod:fn"
    assert load_spec("quickstart").to_dict()["trainable"] == "cifar"
