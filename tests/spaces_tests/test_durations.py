"""Durations in a spec (``failures.trial_timeout``, ``failures.report_timeout``): read, checked, written back."""

from __future__ import annotations

from typing import Any

import pytest

from hpo.spaces import SpecError, load_spec, parse_spec
from hpo.spaces.durations import duration_seconds, duration_text


@pytest.mark.parametrize(("value", "seconds"), [
    ("30s", 30.0), ("10m", 600.0), ("2h", 7200.0), ("1d", 86400.0), ("1h30m", 5400.0), ("1.5h", 5400.0),
    (" 2H 5S ", 7205.0), ("0.5s", 0.5), (90, 90.0), (2.5, 2.5), ("90", 90.0),
])
def test_a_duration_is_number_unit_parts_or_seconds(value: Any, seconds: float) -> None:
    assert duration_seconds(value) == seconds


@pytest.mark.parametrize(("seconds", "text"), [
    (7200.0, "2h"), (600.0, "10m"), (5400.0, "90m"), (90.0, "90s"), (0.5, "0.5s"), (86400.0, "1d"), (7205.0, "7205s"),
])
def test_seconds_are_written_in_the_largest_whole_unit(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("bad", ["10 minutes", "h", "2h-5m", "-3s", 0, -1, True, "", [1]])
def test_anything_else_is_refused_in_one_line_by_its_path(base: dict[str, Any], bad: Any) -> None:
    base["failures"] = {"report_timeout": bad}
    with pytest.raises(SpecError) as info:
        parse_spec(base, source="f.yaml")
    assert str(info.value).splitlines()[1:] == [
        f"  failures.report_timeout: must be a duration > 0 such as 30s, 10m, 2h or 1h30m (a bare number is "
        f"seconds), got {bad!r}"]


def test_the_limits_are_seconds_in_the_spec_and_durations_in_its_yaml(base: dict[str, Any]) -> None:
    base["failures"] = {"max_retries": 1, "trial_timeout": "2h", "report_timeout": "10m"}
    spec = parse_spec(base)
    assert (spec.failures.trial_timeout, spec.failures.report_timeout) == (7200.0, 600.0)
    failures = spec.to_dict()["failures"]
    assert (failures["trial_timeout"], failures["report_timeout"]) == ("2h", "10m")
    assert parse_spec(spec.to_dict()).failures == spec.failures  # what resume reads back


def test_without_limits_the_resolved_spec_and_its_hash_are_unchanged(base: dict[str, Any]) -> None:
    spec = parse_spec(base)
    assert (spec.failures.trial_timeout, spec.failures.report_timeout) == (None, None)
    assert "trial_timeout" not in spec.to_dict()["failures"] and "report_timeout" not in spec.to_dict()["failures"]
    assert parse_spec({**base, "failures": {"report_timeout": None}}).spec_hash() == spec.spec_hash()


def test_an_override_sets_a_limit(tmp_path: Any, base: dict[str, Any]) -> None:
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(base))
    spec = load_spec(path, overrides=["failures.report_timeout=45s", "failures.trial_timeout=3600"])
    assert (spec.failures.trial_timeout, spec.failures.report_timeout) == (3600.0, 45.0)


def test_the_dry_run_shows_the_limits_set(base: dict[str, Any]) -> None:
    from hpo.spaces import dry_run_report

    base["failures"] = {"max_retries": 1, "report_timeout": 600}
    line = next(s for s in dry_run_report(parse_spec(base)).splitlines() if s.startswith("  failures"))
    assert line.endswith("max_retries 1, on_oom fail, report_timeout 10m")


def test_the_dry_run_says_when_fail_fast_is_off(base: dict[str, Any]) -> None:
    from hpo.spaces import dry_run_report

    base["failures"] = {"fail_fast": False}
    line = next(s for s in dry_run_report(parse_spec(base)).splitlines() if s.startswith("  failures"))
    assert line == ("  failures    max_retries 0, on_oom fail, "
                    "fail_fast off (every trial runs, however the first ones fail)")
