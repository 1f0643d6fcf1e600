"""Ray Tune's ``HyperOptSearch`` taking points in HyperOpt's own form, and showing its ``Trials``.

Checked on Ray 2.60.0.
"""

from __future__ import annotations

from typing import Any

from ray.tune.search.hyperopt import HyperOptSearch

__all__ = ["RawPointsHyperOptSearch"]


class RawPointsHyperOptSearch(HyperOptSearch):
    """``HyperOptSearch`` whose ``points_to_evaluate`` are already in HyperOpt's form, with its ``Trials``.

    Touches ``HyperOptSearch._convert_categories_to_indices``, skipped: Ray's conversion handles only
    top-level choices of constants and would convert again points that ``spaces.to_hyperopt_points``
    already gave as indices (choices of groups break). And ``_hpopt_trials``, HyperOpt's ``Trials``, as
    :attr:`hyperopt_trials`: earlier results (warm start, extend) go in as finished trials.
    Checked on Ray 2.60.0.
    """

    def _convert_categories_to_indices(self, config: Any) -> None:
        return None

    @property
    def hyperopt_trials(self) -> Any:
        """HyperOpt's ``Trials`` of this searcher (``hyperopt.Trials``)."""
        return self._hpopt_trials
