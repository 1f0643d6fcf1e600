from __future__ import annotations

import pytest

from hpo.trainables.config import DEFAULTS, ConfigError, parse_config


def test_defaults_and_context_fallbacks() -> None:
    cfg = parse_config({}, max_epochs=7, seed=3)
    assert cfg.epochs == 7 and cfg.seed == 3 and cfg.dataset == "synthetic"
    assert parse_config({}).epochs == 10 and parse_config({}).seed == 0
    assert parse_config({"epochs": 2, "seed": 1}, max_epochs=7, seed=3).epochs == 2
    assert set(cfg.to_dict()) == set(DEFAULTS)


def test_optimizer_group_dict_overrides_flat_keys() -> None:
    cfg = parse_config({"optimizer": {"name": "sgd", "momentum": 0.8, "nesterov": True}, "momentum": 0.5})
    assert (cfg.optimizer, cfg.momentum, cfg.nesterov) == ("sgd", 0.8, True)
    cfg = parse_config({"optimizer": {"name": "adamw", "weight_decay": 0.01}})
    assert (cfg.optimizer, cfg.weight_decay) == ("adamw", 0.01)
    assert parse_config({"optimizer": "adamw"}).optimizer == "adamw"


def test_int_valued_floats_and_numpy_scalars_are_accepted() -> None:
    import numpy as np

    assert parse_config({"batch_size": 64.0, "l1": 16}).batch_size == 64
    cfg = parse_config({"batch_size": np.int64(32), "lr": np.float64(0.1), "nesterov": np.bool_(True)})
    assert (cfg.batch_size, cfg.lr, cfg.nesterov) == (32, 0.1, True)
    assert type(cfg.batch_size) is int and type(cfg.lr) is float and type(cfg.nesterov) is bool


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"lrr": 0.1},
            "config: unknown key 'lrr' for the cifar trainable (known: " + ", ".join(sorted(DEFAULTS)) + ")",
        ),
        ({"optimizer": "adam"}, "config optimizer: must be one of sgd, adamw, got 'adam'"),
        (
            {"optimizer": {"name": "sgd", "beta": 1}},
            "config optimizer: unknown key 'beta' for sgd (allowed: name, lr, momentum, nesterov, weight_decay)",
        ),
        ({"schedule": "step"}, "config schedule: must be one of constant, cosine, onecycle, got 'step'"),
        ({"batch_size": 0}, "config batch_size: must be >= 1, got 0"),
        ({"batch_size": 12.5}, "config batch_size: must be an integer, got 12.5"),
        ({"lr": "fast"}, "config lr: must be a number, got 'fast'"),
        ({"val_fraction": 0.0}, "config val_fraction: must be >= 0.01, got 0.0"),
        ({"model": "vgg"}, "config model: must be tutorial_cnn, resnet_small or torchvision:<name>, got 'vgg'"),
        ({"precision": "fp8"}, "config precision: must be one of fp32, bf16, fp16, got 'fp8'"),
    ],
)
def test_bad_values_fail_with_one_line(config: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(config)
    assert str(info.value) == message
