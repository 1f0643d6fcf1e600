from __future__ import annotations

from typing import Any

from spaces import describe_budget, dry_run_report, load_spec, parse_spec


def _spec(**patch: Any) -> Any:
    data = {"name": "b", "trainable": "cifar", "metric": "m", "mode": "min",
            "search": {"algorithm": "random", "num_samples": 16},
            "scheduler": {"type": "asha", "max_t": 20, "grace_period": 1, "reduction_factor": 2},
            "params": {"lr": {"type": "float", "low": 0.1, "high": 1.0}}}
    data.update(patch)
    return parse_spec(data)


def test_asha_rungs_and_expected_spend() -> None:
    budget = describe_budget(_spec())
    assert budget.rungs == (1, 2, 4, 8, 16)
    assert budget.full == 16 * 20 and budget.trials == 16
    # 16 trials x 1, 8 x 1, 4 x 2, 2 x 4, 1 x 8, then 1 x 4 (16 -> 20)
    assert budget.expected == 16 + 8 + 8 + 8 + 8 + 4


def test_stop_caps_max_t_and_fifo_has_no_rungs() -> None:
    budget = describe_budget(_spec(stop={"training_iteration": 5}, scheduler={"type": "fifo", "max_t": 20}))
    assert budget.rungs == () and budget.max_t == 5 and budget.expected == budget.full == 80


def test_grid_budget_is_grid_size_times_num_samples() -> None:
    spec = _spec(search={"algorithm": "grid", "num_samples": 2},
                 params={"a": {"type": "choice", "values": [1, 2, 3]}, "b": {"type": "pow2", "low": 1, "high": 8}})
    assert describe_budget(spec).trials == 2 * 3 * 4


def test_dry_run_report_is_deterministic_and_complete() -> None:
    spec = load_spec("quickstart")
    text = dry_run_report(spec, samples=3)
    assert text == dry_run_report(spec, samples=3)
    assert text.startswith(f"Sweep quickstart  (quickstart, spec {spec.spec_hash()})")
    assert "  rungs       1, 2 (then max_t 4)" in text
    assert "  training_iteration: at most 32 without early stopping (8 x 4)" in text
    assert "Sample configs (3, seed 0)" in text and "  3. {" in text
