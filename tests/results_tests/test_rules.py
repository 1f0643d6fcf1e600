"""The rules results spells once for everyone: better and best first, Ray's own result keys, the formatting
helpers, the error line and the store's JSON (no database, no Ray)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from hpo.results import (
    RAY_AUTO_KEYS,
    best_first,
    better,
    error_line,
    format_duration,
    format_hours,
    format_number,
)
from hpo.results.store import RAY_PROGRESS_KEYS, RAY_UNSTORED_KEYS, dumps, loads
from hpo.results.store.writer import clean_result


@dataclass
class _Scored:
    name: str
    last_metric: float | None


def test_better_is_strict_and_anything_beats_nothing() -> None:
    assert better(0.1, 0.2, mode="min") and not better(0.2, 0.1, mode="min")
    assert better(0.2, 0.1, mode="max") and not better(0.1, 0.2, mode="max")
    assert not better(0.1, 0.1, mode="min") and not better(0.1, 0.1, mode="max")  # a tie keeps the first
    assert better(5.0, None, mode="min") and better(-5.0, None, mode="max")


def test_best_first_keeps_ties_in_order_and_leaves_out_what_has_no_finite_value() -> None:
    items = [_Scored("a", 0.3), _Scored("none", None), _Scored("b", 0.1), _Scored("nan", math.nan),
             _Scored("c", 0.3), _Scored("inf", math.inf), _Scored("d", 0.2)]
    assert [i.name for i in best_first(items, mode="min")] == ["b", "d", "a", "c"]
    assert [i.name for i in best_first(items, mode="max")] == ["a", "c", "d", "b"]
    assert [i for i in best_first([3, 1, 2], mode="max", value=float)] == [3, 2, 1]


def test_ray_keys_are_one_set_split_into_what_the_store_keeps_and_drops() -> None:
    dropped = {"config", "date", "hostname", "node_ip", "pid", "timestamp", "trial_id", "experiment_tag", "done",
               "time_since_restore", "iterations_since_restore", "checkpoint_dir_name", "should_checkpoint",
               "experiment_id", "__trial_info__", "trial_resources"}  # what the store always left out
    kept = {"training_iteration", "time_this_iter_s", "time_total_s", "timesteps_total", "episodes_total",
            "timesteps_since_restore"}
    assert (dropped, kept) == (RAY_UNSTORED_KEYS, RAY_PROGRESS_KEYS)
    assert RAY_AUTO_KEYS == RAY_UNSTORED_KEYS | RAY_PROGRESS_KEYS
    result = {key: 1 for key in RAY_AUTO_KEYS} | {"loss": 0.5, "nested": {"done": 2}}
    assert clean_result(result) == {**{key: 1 for key in sorted(RAY_PROGRESS_KEYS)}, "loss": 0.5, "nested/done": 2}


def test_formatting_helpers() -> None:
    assert (format_number(None), format_number(0.123456789), format_number(12345678.0)) == (
        "—", "0.12346", "1.2346e+07")
    assert (format_hours(None), format_hours(0.012345), format_hours(12.5)) == ("—", "0.0123", "12.5")
    assert (format_duration(None), format_duration(5.4), format_duration(65), format_duration(3723)) == (
        "—", "5s", "1m 05s", "1h 02m 03s")


def test_error_line_is_the_first_line_with_secrets_masked() -> None:
    exc = OSError("cannot open s3://KEY:SECRET@bucket/runs?secret_key=abc\nmore detail")
    assert error_line(exc) == "cannot open s3://KEY:***@bucket/runs?secret_key=***"
    assert error_line(ValueError("")) == "ValueError"


def test_the_stores_json_reads_back_and_tolerates_what_others_wrote() -> None:
    assert dumps({"lr": 0.1, "when": None, "tags": {1}}) == '{"lr":0.1,"when":null,"tags":"{1}"}'
    assert dumps({"lr": math.nan}) == '{"lr":NaN}'  # a NaN inside a config still stores
    assert math.isnan(loads(dumps({"lr": math.nan}))["lr"])
    assert (loads(None, {}), loads("", None), loads("not json", {}), loads("[1]")) == ({}, None, {}, [1])
