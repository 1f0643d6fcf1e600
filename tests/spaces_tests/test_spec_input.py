"""A spec handed over from Python: a dict is checked exactly as the YAML file holding it would be."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hpo.spaces import SpecError, SweepSpec, build_plan, dry_run_report, load_spec, parse_spec
from hpo.spaces.spec_input import as_spec

BAD = {
    "name": "bad",
    "trainable": "cifar",
    "metric": "val_loss",
    "mode": "min",
    "search": {"algorithm": "hyperopt", "num_sample": 3},
    "params": {"lr": {"type": "float", "low": 0.0, "high": 0.1, "log": True}},
}
BAD_PROBLEMS = """\
  search.num_sample: unknown key (did you mean 'num_samples'?); allowed: algorithm, sampler, num_samples, \
max_concurrent, seed, points_to_evaluate, warm_start
  params.lr: log: true needs low > 0, got low=0.0"""


def test_a_dict_is_the_spec_its_yaml_file_is(base: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(base))
    from_dict, from_file = as_spec(base), as_spec(path)
    assert isinstance(from_dict, SweepSpec)
    assert from_dict.to_dict() == from_file.to_dict()
    assert from_dict.spec_hash() == from_file.spec_hash()
    assert (from_dict.source, from_file.source) == (None, str(path))


def test_a_bad_dict_names_spec_where_its_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(BAD, sort_keys=False))
    with pytest.raises(SpecError) as from_dict:
        as_spec(BAD)
    with pytest.raises(SpecError) as from_file:
        as_spec(str(path))
    assert str(from_dict.value) == "spec: 2 problems\n" + BAD_PROBLEMS
    assert str(from_file.value) == f"{path}: 2 problems\n" + BAD_PROBLEMS
    assert from_dict.value.problems == from_file.value.problems


def test_the_callers_dict_stays_theirs(base: dict[str, Any]) -> None:
    base["fixed"] = {"subset": 500, "groups": {"a": [1, 2]}}
    spec = as_spec(base)
    base["fixed"]["groups"]["a"].append(3)  # the next notebook cell edits the dict for another sweep
    base["params"]["lr"]["high"] = 0.5
    assert spec.fixed == {"subset": 500, "groups": {"a": [1, 2]}}
    assert spec.params["lr"].high == pytest.approx(0.1)


def test_a_parsed_spec_passes_through_and_names_are_read_as_load_spec_reads_them(base: dict[str, Any]) -> None:
    spec = parse_spec(base)
    assert as_spec(spec) is spec
    assert as_spec("quickstart").to_dict() == load_spec("quickstart").to_dict()


@pytest.mark.parametrize(("value", "shown"), [(["name", "x"], "list"), (None, "NoneType"), (3, "int")])
def test_anything_else_is_one_line(value: object, shown: str) -> None:
    with pytest.raises(SpecError) as info:
        as_spec(value)
    assert str(info.value) == f"spec: expected a SweepSpec, a dict, or the path of a YAML spec file, got {shown}"


def test_a_missing_file_is_the_error_load_spec_gives(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        as_spec(tmp_path / "nope.yaml")
    assert str(info.value).startswith(f"{tmp_path / 'nope.yaml'}: no such file, and not a built-in spec (built-ins: ")


def test_the_plan_and_the_dry_run_take_a_dict(base: dict[str, Any]) -> None:
    assert build_plan(base) == build_plan(parse_spec(base))
    assert dry_run_report(base, samples=2) == dry_run_report(parse_spec(base), samples=2)
    with pytest.raises(SpecError) as info:
        dry_run_report(BAD)
    assert str(info.value) == "spec: 2 problems\n" + BAD_PROBLEMS
