"""A trial's actor (hpo.search.ray_compat.trial_actor) on Ray's own ``Trial`` class, no Ray instance: a trial
with no actor has nothing to end. Ending a live one is tested end to end (test_sweep.py, test_pbt.py: a
trial that hangs is ended, its processes gone, and retried)."""

from __future__ import annotations

from ray.tune.experiment import Trial

from hpo.search.ray_compat.trial_actor import kill_trial_actor, trial_actor


def test_a_trial_without_an_actor_has_none_to_end() -> None:
    trial = Trial("__fake", stub=True)  # Tune's own class, as the callbacks get it; never started
    assert trial_actor(trial) is None
    assert kill_trial_actor(trial) is False
    assert trial.status == "PENDING"


def test_an_object_that_is_no_trial_has_no_actor() -> None:
    assert trial_actor(object()) is None
