from __future__ import annotations

import pytest

from hpo.spaces import SpecError, apply_overrides, builtin_names, load_spec
from hpo.spaces.yaml_io import parse_yaml


def test_exponent_without_dot_is_a_float() -> None:
    data = parse_yaml("a: 1e-4\nb: 1E5\nc: -2.5e-3\nd: 3\ne: '1e-4'\nf: 1.0e-4\n", source="x")
    assert data == {"a": 1e-4, "b": 1e5, "c": -2.5e-3, "d": 3, "e": "1e-4", "f": 1e-4}
    assert isinstance(data["d"], int) and isinstance(data["a"], float)


def test_invalid_yaml_names_file_line_and_column() -> None:
    with pytest.raises(SpecError) as info:
        parse_yaml("name: x\n  bad: [\n", source="spec.yaml")
    assert str(info.value) == "spec.yaml:2:6: invalid YAML: mapping values are not allowed here"


def test_overrides_parse_values_as_yaml_and_create_paths() -> None:
    data = {"search": {"num_samples": 4}, "params": {"lr": {"type": "float", "high": 0.1}}}
    out = apply_overrides(data, ["search.num_samples=8", "params.lr.high=0.5", "fixed.widths=[32, 64]",
                                 "fixed.lr0=1e-3", "fixed.name=resnet"])
    assert out["search"]["num_samples"] == 8
    assert out["params"]["lr"]["high"] == 0.5
    assert out["fixed"] == {"widths": [32, 64], "lr0": 1e-3, "name": "resnet"}
    assert data["search"]["num_samples"] == 4  # the input is not changed


def test_override_indexes_into_lists() -> None:
    data = {"params": {"opt": {"type": "choice", "values": [{"name": "sgd"}, {"name": "adamw"}]}}}
    out = apply_overrides(data, ["params.opt.values.1.name=adam"])
    assert out["params"]["opt"]["values"][1] == {"name": "adam"}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("search.num_samples", "--set search.num_samples: expected KEY=VALUE, e.g. search.num_samples=8"),
        ("=3", "--set =3: expected KEY=VALUE, e.g. search.num_samples=8"),
        ("search..seed=1", "--set search..seed=1: empty part in the dotted path 'search..seed'"),
        ("name.first=x", "--set name.first=x: name is 'n', not a mapping"),
        ("search.num_samples.x.y=1", "--set search.num_samples.x.y=1: search.num_samples is 4, not a mapping"),
    ],
)
def test_bad_overrides(item: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        apply_overrides({"name": "n", "search": {"num_samples": 4}}, [item])
    assert str(info.value) == f"spec: {message}"


def test_builtin_names_and_missing_file() -> None:
    assert {"quickstart", "tutorial", "cifar10-asha-hyperopt", "cifar10-grid", "cifar10-random"} <= set(
        builtin_names())
    with pytest.raises(SpecError) as info:
        load_spec("no-such-spec.yaml")
    assert str(info.value).startswith("no-such-spec.yaml: no such file, and not a built-in spec (built-ins: ")


def test_override_error_carries_the_source() -> None:
    with pytest.raises(SpecError) as info:
        load_spec("quickstart", overrides=["oops"])
    assert str(info.value) == "quickstart: --set oops: expected KEY=VALUE, e.g. search.num_samples=8"
