"""Drawing configs from a spec's space without Ray running: the same code paths the searchers use."""

from __future__ import annotations

from itertools import islice
from typing import Any

import numpy as np

from hpo.spaces.models import SweepSpec
from hpo.spaces.translate import constant_config, to_hyperopt_space, to_tune_space

__all__ = ["grid_size", "sample_configs"]


def _hyperopt_samples(spec: SweepSpec, seed: int | None) -> Any:
    import hyperopt.pyll.stochastic

    space = to_hyperopt_space(spec)
    rng = np.random.default_rng(seed)
    consts = constant_config(spec)
    for _ in range(spec.search.num_samples):
        yield {**hyperopt.pyll.stochastic.sample(space, rng=rng), **consts}


def _optuna_samples(spec: SweepSpec, seed: int | None) -> Any:
    import optuna

    from hpo.spaces.translate import OptunaSpace

    space = OptunaSpace(spec)
    consts = constant_config(spec)
    # What the sampler draws from before it has results: the space through a seeded random sampler.
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "[I ...] A new study created" line in a dry run
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    for _ in range(spec.search.num_samples):
        yield {**space(study.ask()), **consts}


def _variant_samples(spec: SweepSpec, seed: int | None) -> Any:
    from ray.tune.search.variant_generator import generate_variants

    space = to_tune_space(spec)
    rng = np.random.RandomState(seed)
    for _ in range(spec.search.num_samples):
        for _resolved, config in generate_variants(space, random_state=rng):
            yield config


def sample_configs(spec: SweepSpec, n: int, *, seed: int | None = None) -> list[dict[str, Any]]:
    """Up to ``n`` configs drawn from the spec's space, as full trial configs (constants included).

    Never more than the sweep would start (``num_samples`` x the grid size).

    ``hyperopt`` draws from its native space (what TPE samples from before it has results);
    ``random`` and ``grid`` go through Ray Tune's variant generator (grid: in order, ``n`` at most).
    The same seed gives the same configs. ``seed`` defaults to the spec's ``search.seed``.
    """
    seed = spec.search.seed if seed is None else seed
    sources = {"hyperopt": _hyperopt_samples, "optuna": _optuna_samples}
    source = sources.get(spec.search.algorithm, _variant_samples)
    return list(islice(source(spec, seed), n))


def _count(node: Any, *, grid: bool) -> int:
    from hpo.spaces.params import ChoiceParam, FloatParam, GridParam, IntParam, Pow2Param

    if isinstance(node, dict):
        total = 1
        for value in node.values():
            total *= _count(value, grid=grid)
        return total
    if isinstance(node, GridParam):
        return len(node.values)
    if not grid:
        return 1
    if isinstance(node, ChoiceParam):
        return sum(_count(v, grid=grid) for v in node.values)
    if isinstance(node, (Pow2Param, IntParam)) or (isinstance(node, FloatParam) and node.step is not None):
        return len(node.values())
    return 1


def grid_size(spec: SweepSpec) -> int:
    """Configs in one pass of the grid: every combination for ``grid``, the ``grid`` params for ``random``.

    ``1`` for hyperopt and optuna, which have no grid.
    """
    if spec.search.algorithm in ("hyperopt", "optuna"):
        return 1
    return _count(spec.params, grid=spec.search.algorithm == "grid")
