"""The trainable contract checked against a spec before Ray starts (no Ray)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hpo.search.engine.checks import check_spec, contract_problems
from hpo.spaces import SpecError, parse_spec
from hpo.trainables import ConfigKey, Contract, contract_of, declare

CIFAR_KEYS = ", ".join(sorted(contract_of("cifar").config or {}))
CIFAR_METRICS = ", ".join(contract_of("cifar").metrics or ())


def _cifar(**over: Any) -> Any:
    data: dict[str, Any] = {"name": "c", "trainable": "cifar", "metric": "val_loss", "mode": "min",
                            "params": {"lr": {"type": "float", "low": 1e-3, "high": 0.1, "log": True}},
                            "fixed": {"dataset": "synthetic", "epochs": 1}}
    data.update(over)
    return parse_spec(data, source="c.yaml")


def test_the_shipped_quickstart_fits_the_cifar_contract() -> None:
    from hpo.spaces import load_spec

    assert check_spec(load_spec("quickstart")).metrics == contract_of("cifar").metrics


def test_a_metric_the_trainable_does_not_report_is_refused_with_did_you_mean() -> None:
    assert contract_problems(_cifar(metric="loss"), contract_of("cifar")) == [
        ("metric", f"the cifar trainable does not report 'loss' (did you mean 'val_loss'?); it reports: "
                   f"{CIFAR_METRICS}")]


def test_rays_own_result_keys_count_as_reported() -> None:
    assert contract_problems(_cifar(metric="time_total_s"), contract_of("cifar")) == []


def test_a_misspelt_fixed_key_is_refused() -> None:
    problems = contract_problems(_cifar(fixed={"lrr": 0.1}), contract_of("cifar"))
    assert problems == [("fixed.lrr", f"the cifar trainable has no config key 'lrr' (did you mean 'lr'?); "
                                      f"it accepts: {CIFAR_KEYS}")]


def test_values_and_ranges_must_fit_the_declared_types() -> None:
    spec = _cifar(fixed={"batch_size": 0, "dataset": "mnist"}, params={
        "momentum": {"type": "float", "low": 0.5, "high": 1.5},
        "l1": {"type": "float", "low": 2, "high": 8},
        "schedule": {"type": "choice", "values": ["cosine", "step"]},
        "depth": {"type": "pow2", "low": 1, "high": 4}})
    assert contract_problems(spec, contract_of("cifar")) == [
        ("fixed.batch_size", "must be an integer >= 1, got 0"),
        ("fixed.dataset", "must be one of cifar10, cifar100, synthetic, got 'mnist'"),
        ("params.momentum", "must be a number >= 0 and <= 1, got the range 0.5..1.5"),
        ("params.l1", "must be an integer >= 1, got a float range; use type: int"),
        ("params.schedule.values[1]", "must be one of constant, cosine, onecycle, got 'step'"),
    ]


def test_conditional_branches_are_checked_key_by_key() -> None:
    spec = _cifar(params={"optimizer": {"type": "choice", "values": [
        {"name": "sgd", "momentum": {"type": "float", "low": 0.8, "high": 0.99}, "nesterov": True},
        {"name": "adamw", "beta2": {"type": "float", "low": 0.9, "high": 0.999}},
        {"name": "lion"}]}})
    assert contract_problems(spec, contract_of("cifar")) == [
        ("params.optimizer.values[1].beta2", "group adamw has no config key 'beta2'; it accepts: lr, momentum, "
                                             "weight_decay"),
        ("params.optimizer.values[2].name", "a group needs name: one of sgd, adamw, got 'lion'"),
    ]


def test_more_than_one_gpu_per_process_points_to_workers() -> None:
    problems = contract_problems(_cifar(resources={"gpu": 2}), contract_of("cifar"))
    assert problems == [("resources.gpu", "each worker of the cifar trainable trains on one GPU, got gpu=2; use "
                                          "gpu: 1 or less (a fraction packs trials onto one GPU), and "
                                          "resources.workers: 2 with gpu: 1 for 2 GPUs per trial")]


def test_every_problem_is_reported_at_once_as_one_spec_error() -> None:
    with pytest.raises(SpecError) as info:
        check_spec(_cifar(metric="loss", fixed={"lrr": 1}))
    assert str(info.value).splitlines()[0] == "c.yaml: 2 problems"


def test_a_trainable_that_declares_nothing_passes_the_static_check() -> None:
    def train(config: dict[str, Any]) -> None: ...

    spec = _cifar(trainable="x:y", metric="anything", fixed={"whatever": 1}, resources={"gpu": 4})
    assert check_spec(spec, trainable=train) == Contract()


def test_a_declared_user_trainable_is_checked_too() -> None:
    @declare(config={"x": ConfigKey("float", low=-1, high=1), "kind": ("a", "b")}, metrics=["loss"])
    def train(config: dict[str, Any]) -> None: ...

    spec = _cifar(trainable="x:y", metric="los", fixed={"kind": "c"},
                  params={"x": {"type": "float", "low": -2, "high": 0}})
    assert contract_problems(spec, contract_of(train)) == [
        ("metric", "trainable x:y does not report 'los' (did you mean 'loss'?); it reports: loss"),
        ("fixed.kind", "must be one of a, b, got 'c'"),
        ("params.x", "must be a number >= -1 and <= 1, got the range -2..0"),
    ]


def test_an_import_path_resolves_from_the_spec_files_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "labtrain_checks.py").write_text(
        "from hpo.trainables import declare\n\n"
        "@declare(metrics=['score'])\n"
        "def train(config):\n    pass\n")
    spec_file = lab / "s.yaml"
    spec_file.write_text("name: s\ntrainable: labtrain_checks:train\nmetric: score\nmode: max\n"
                         "params: {x: {type: float, low: 0, high: 1}}\n")
    monkeypatch.chdir(tmp_path)  # a foreign working directory: the module is only beside the spec
    from hpo.spaces import load_spec

    assert check_spec(load_spec(str(spec_file))).metrics == ("score",)


def test_the_schedulers_own_metric_must_be_reported_too() -> None:
    spec = _cifar(metric="val_acc", mode="max", scheduler={"type": "asha", "metric": "loss", "mode": "min"})
    assert contract_problems(spec, contract_of("cifar")) == [
        ("scheduler.metric", f"the cifar trainable does not report 'loss' (did you mean 'val_loss'?); it reports: "
                             f"{CIFAR_METRICS}")]
    fine = _cifar(metric="val_acc", mode="max", scheduler={"type": "asha", "metric": "val_loss", "mode": "min"})
    assert contract_problems(fine, contract_of("cifar")) == []
