"""Search algorithms from a spec: Optuna, HyperOpt TPE, random and grid (Ray's BasicVariantGenerator).

The HyperOpt concurrency fix lives here. Ray Tune lets a searcher that is not a
``BasicVariantGenerator`` keep only ONE trial pending (``TUNE_MAX_PENDING_TRIALS_PG`` auto =
1), so with default settings HyperOpt starts trials one by one and idles slots (measured
0.64 average concurrency on 2 slots against 1.47 for random). Wrapping it in a
``ConcurrencyLimiter`` sized to the cluster's slots raises the pending limit to that size
(Ray reads ``max_concurrent`` off the limiter) and bounds how far TPE runs ahead of its
results. ``bench/concurrency.py`` measures it.

Unless the user set ``max_concurrent``, the limit leaves trials waiting (:func:`searcher_limit`): Tune
hands a finished trial's actor only to a trial already waiting for its resources, and stops it otherwise.
At exactly the slots no trial ever waited, so nearly every trial started a new actor (``bench/scale.py``).
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["make_searcher", "param_space", "searcher_limit"]

logger = logging.getLogger(__name__)


def searcher_limit(spec: Any, plan: Any) -> int:
    """How many trials the search algorithm may have out at once (suggested, not yet ended); 0: no limit.

    The plan's concurrency when the user set ``search.max_concurrent``, for PBT/PB2 (a waiting trial
    would join the population, to be paused for) and for multi-worker trials (Ray Train, not Tune, holds
    their workers: a waiting trial's driver could take a slot their workers need). Otherwise the
    capacity alone bounds how many run, and trials are left waiting: Ray Tune reuses a finished trial's
    actor only for a trial that waits for the same resources (without one it stops the actor, and the
    next trial starts a new one). Random and grid search get no limit, as in Tune's own default; a
    model-based searcher gets one trial more than the slots, so it runs ahead of its results by one.
    """
    concurrency = plan.concurrency or 1
    if spec.search.max_concurrent or plan.exploits or spec.resources.workers > 1:
        return concurrency
    return 0 if spec.search.algorithm in ("random", "grid") else concurrency + 1


def param_space(spec: Any) -> dict[str, Any]:
    """The Tuner's ``param_space``: the whole space for random/grid, constants for HyperOpt/Optuna."""
    from hpo import spaces

    if spec.search.algorithm in ("hyperopt", "optuna"):
        return dict(spaces.constant_config(spec))
    return dict(spaces.to_tune_space(spec))


def make_searcher(spec: Any, *, max_concurrent: int, evaluated: Any = None) -> Any:
    """Build the spec's search algorithm.

    Args:
        spec: The sweep spec.
        max_concurrent: Trials the algorithm may have out at once (:func:`searcher_limit`); 0, no
            limit, for random and grid search only.
        evaluated: ``search.warm_start.EvaluatedPoints`` already run (warm start, extend): Optuna
            and HyperOpt model them as finished trials; random search runs them first.

    Returns:
        A ``ConcurrencyLimiter`` around ``OptunaSearch`` or ``HyperOptSearch`` (give it to Tune
        through ``hpo.search.searchers.restored_state.search_algorithm``), or a seeded ``BasicVariantGenerator``
        that agrees with Tune's restored trials after a SIGKILL.
    """
    algorithm = spec.search.algorithm
    if algorithm == "optuna":
        from ray.tune.search import ConcurrencyLimiter

        from hpo import spaces
        from hpo.search.searchers.optuna_search import make_optuna_search

        searcher = make_optuna_search(spec)
        if evaluated is not None:
            searcher.add_evaluated([spaces.to_optuna_point(spec, p) for p in evaluated.points], evaluated.values)
        return ConcurrencyLimiter(searcher, max_concurrent=max_concurrent)
    if algorithm == "hyperopt":
        from ray.tune.search import ConcurrencyLimiter

        from hpo import spaces
        from hpo.search.searchers.hyperopt_points import PreparedPointsHyperOptSearch

        # HyperOptSearch is built with its own space, so Tune cannot pass TuneConfig's
        # metric/mode down to it (set_search_properties is a no-op once a space is set).
        searcher = PreparedPointsHyperOptSearch(
            space=spaces.to_hyperopt_space(spec),
            metric=spec.metric,
            mode=spec.mode,
            points_to_evaluate=spaces.to_hyperopt_points(spec) or None,
            random_state_seed=spec.search.seed,
        )
        if evaluated is not None:
            searcher.add_evaluated([spaces.to_hyperopt_point(spec, p) for p in evaluated.points], evaluated.values)
        logger.debug("HyperOpt wrapped in ConcurrencyLimiter(max_concurrent=%d)", max_concurrent)
        return ConcurrencyLimiter(searcher, max_concurrent=max_concurrent)
    if algorithm in ("random", "grid"):
        from hpo.search.searchers.restored_state import ReconcilingVariantGenerator

        warm = [dict(p) for p in evaluated.points] if evaluated is not None else []
        return ReconcilingVariantGenerator(
            points_to_evaluate=[dict(p) for p in spec.search.points_to_evaluate] + warm or None,
            max_concurrent=max_concurrent,
            random_state=spec.search.seed,
        )
    raise ValueError(f"search.algorithm: unknown algorithm {algorithm!r}; use optuna, hyperopt, random or grid")
