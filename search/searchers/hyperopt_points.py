"""HyperOptSearch taking ``points_to_evaluate`` already in HyperOpt's own form.

``spaces.to_hyperopt_points`` gives points as ``{label: raw value}`` with choices as
indices, which is right for conditional groups; Ray's own conversion only handles
top-level choices of constants and would re-convert them, so it is skipped
(``hpo.search.ray_compat.hyperopt``).

``add_evaluated`` takes points that were already run (warm start, extend) with their metric
values: Ray 2.60's HyperOptSearch has no ``evaluated_rewards``, so they go into HyperOpt's
``Trials`` as finished trials, which TPE then models like its own.
"""

from __future__ import annotations

from typing import Any

from hpo.search.ray_compat.hyperopt import RawPointsHyperOptSearch

__all__ = ["PreparedPointsHyperOptSearch"]


class PreparedPointsHyperOptSearch(RawPointsHyperOptSearch):
    """``HyperOptSearch`` whose points are given as ``spaces.to_hyperopt_points`` makes them."""

    def add_evaluated(self, points: list[dict[str, Any]], values: list[float]) -> None:
        """Record ``points`` (HyperOpt's form) as finished with ``values`` of the metric (mode respected)."""
        from hyperopt import JOB_STATE_DONE, STATUS_OK

        if not points:
            return
        trials = self.hyperopt_trials
        labels = list(self.domain.params)
        tids = trials.new_trial_ids(len(points))
        # Labels of an inactive branch (a choice of groups) get no value, as in HyperOpt's own trials.
        miscs = [{"tid": tid, "cmd": ("domain_attachment", "FMinIter_Domain"), "workdir": None,
                  "idxs": {lb: [tid] if lb in p else [] for lb in labels},
                  "vals": {lb: [p[lb]] if lb in p else [] for lb in labels}}
                 for tid, p in zip(tids, points, strict=True)]
        results = [{"loss": self.metric_op * float(v), "status": STATUS_OK} for v in values]
        docs = trials.new_trial_docs(tids, [None] * len(tids), results, miscs)
        for doc in docs:
            doc["state"] = JOB_STATE_DONE
        trials.insert_trial_docs(docs)
        trials.refresh()
