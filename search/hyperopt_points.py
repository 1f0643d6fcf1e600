"""HyperOptSearch taking ``points_to_evaluate`` already in HyperOpt's own form.

``spaces.to_hyperopt_points`` gives points as ``{label: raw value}`` with choices as
indices, which is right for conditional groups; Ray's own conversion only handles
top-level choices of constants and would re-convert them, so it is skipped here.
"""

from __future__ import annotations

from typing import Any

from ray.tune.search.hyperopt import HyperOptSearch

__all__ = ["PreparedPointsHyperOptSearch"]


class PreparedPointsHyperOptSearch(HyperOptSearch):
    """``HyperOptSearch`` whose points are given as ``spaces.to_hyperopt_points`` makes them."""

    def _convert_categories_to_indices(self, config: Any) -> None:
        return None
