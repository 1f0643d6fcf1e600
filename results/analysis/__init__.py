"""What is read from the store's records, data in and data out (no plotting, no HTML): the plan's facts as
the store holds them, the cost in CPU- and GPU-hours, the Pareto set of several objectives, a sweep's
distinct errors, which trials a big sweep's plots draw, a confirmation's verdict, and hyperparameter
importance (Optuna's evaluators; Optuna's one private name it needs lives in ``fanova_compat``).

Imports ``store``, never ``report`` or ``dashboard``: the report and the dashboard hand their data in.
"""

from __future__ import annotations

from hpo.results.analysis.confirm import Confirmation, ConfirmedConfig, confirmation, ranked_configs
from hpo.results.analysis.cost import Cost, sweep_cost, trial_cost
from hpo.results.analysis.errors import NO_ERROR_TEXT, ErrorGroup, error_groups
from hpo.results.analysis.importance import EVALUATORS, Evidence, Importance, importance
from hpo.results.analysis.pareto import objective_values, objectives_of, pareto_front
from hpo.results.analysis.plan import Budget, ParamAxis, axes_of, budget_of, plan_of, resources_of, rungs_of
from hpo.results.analysis.sample import SAMPLE_ABOVE, Sample, sample_trials

__all__ = [
    "EVALUATORS",
    "NO_ERROR_TEXT",
    "SAMPLE_ABOVE",
    "Budget",
    "Confirmation",
    "ConfirmedConfig",
    "Cost",
    "ErrorGroup",
    "Evidence",
    "Importance",
    "ParamAxis",
    "Sample",
    "axes_of",
    "budget_of",
    "confirmation",
    "error_groups",
    "importance",
    "objective_values",
    "objectives_of",
    "pareto_front",
    "plan_of",
    "ranked_configs",
    "resources_of",
    "rungs_of",
    "sample_trials",
    "sweep_cost",
    "trial_cost",
]
