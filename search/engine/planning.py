"""The plan of a spec, built once the same way for ``hpo validate``, ``hpo sweep --dry-run`` and the engine.

``spaces.build_plan`` knows the spec; how many trials fit at once also depends on the capacity the
sweep will get (this machine's CPUs and GPUs, or ``cluster.num_cpus``/``num_gpus``), known before
Ray starts except on a cluster not yet joined. Every caller goes through :func:`plan_sweep`, so
what validate and the dry run print is the plan the engine then runs (and stores).
"""

from __future__ import annotations

from hpo.search.cluster.local import planned_slots
from hpo.spaces import SweepPlan, SweepSpec, build_plan

__all__ = ["plan_sweep"]


def plan_sweep(spec: SweepSpec) -> SweepPlan:
    """The spec's plan, its concurrency from the capacity known before Ray starts (None when only a cluster can tell).

    Starts no Ray: a local instance's capacity is read from the machine (or the spec's ``cluster``);
    the engine fills in a cluster's once it has joined (``SweepPlan.with_concurrency``).
    """
    return build_plan(spec, slots=planned_slots(spec))
