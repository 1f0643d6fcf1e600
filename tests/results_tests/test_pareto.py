"""The Pareto set: the trials no other trial dominates, found without comparing every pair."""

from __future__ import annotations

import random

from hpo.results import TrialRecord, pareto_front


def _trial(i: int, values: dict[str, float]) -> TrialRecord:
    return TrialRecord(sweep="s", trial_id=f"t{i:04d}", config={}, status="completed", last_result=values)


def test_the_front_is_every_trial_no_other_dominates_ties_and_all() -> None:
    rng = random.Random(0)
    objectives = [("loss", "min"), ("acc", "max"), ("cost", "min")]
    # Coarse values: many ties, and trials equal on every objective (neither dominates the other).
    trials = [_trial(i, {"loss": rng.randint(0, 9) / 10, "acc": rng.randint(0, 9) / 10, "cost": rng.choice([1, 2])})
              for i in range(400)]
    trials.append(_trial(999, {"loss": 0.5}))  # an objective missing: never on the front
    for chosen in (objectives[:2], objectives):
        signs = [1 if mode == "min" else -1 for _, mode in chosen]
        keys = {t.trial_id: tuple(s * t.last_result[m] for s, (m, _) in zip(signs, chosen, strict=True))
                for t in trials if all(m in t.last_result for m, _ in chosen)}

        def dominated(key: tuple[float, ...], keys: dict[str, tuple[float, ...]] = keys) -> bool:
            return any(all(o <= k for o, k in zip(other, key, strict=True)) and other != key
                       for other in keys.values())

        expected = sorted((key, tid) for tid, key in keys.items() if not dominated(key))
        assert [t.trial_id for t in pareto_front(trials, chosen)] == [tid for _, tid in expected]
