from __future__ import annotations

from search.tuning import stop_criteria


def test_max_t_caps_every_trial(make_spec) -> None:
    assert stop_criteria(make_spec(scheduler={"type": "fifo", "max_t": 7})) == {"training_iteration": 7.0}


def test_a_smaller_stop_wins_and_other_criteria_stay(make_spec) -> None:
    spec = make_spec(scheduler={"type": "median", "max_t": 7},
                     stop={"training_iteration": 5, "score": 0.99})
    assert stop_criteria(spec) == {"training_iteration": 5.0, "score": 0.99}
    spec = make_spec(scheduler={"type": "asha", "max_t": 7, "time_attr": "time_total_s"},
                     stop={"time_total_s": 60})
    assert stop_criteria(spec) == {"time_total_s": 7.0}
