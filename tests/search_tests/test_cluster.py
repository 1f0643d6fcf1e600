"""Sizing and the resource check that runs before Ray starts (no Ray needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpo.search.cluster.local import Capacity, check_resources, concurrency_slots, resolve_home
from hpo.search.errors import ResourceError


def test_home_argument_beats_env_beats_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HPO_HOME", str(tmp_path / "env"))
    assert resolve_home(tmp_path / "arg") == (tmp_path / "arg").resolve()
    assert resolve_home() == (tmp_path / "env").resolve()
    # an empty --home means "not given", as for the store: Ray's files and the store share a home
    assert resolve_home("") == (tmp_path / "env").resolve()
    monkeypatch.delenv("HPO_HOME")
    monkeypatch.chdir(tmp_path)
    assert resolve_home() == (tmp_path / "runs").resolve()


def test_two_gpus_per_trial_on_a_one_gpu_machine_is_refused(make_spec) -> None:
    spec = make_spec(resources={"cpu": 1, "gpu": 2})
    with pytest.raises(ResourceError) as err:
        check_resources(spec, Capacity(((8.0, 1.0),), "this machine"))
    assert str(err.value) == (
        "resources.gpu: each trial asks for 2 GPU(s) but this machine has 1 on its largest node; "
        "lower resources.gpu or set cluster.num_gpus"
    )


def test_too_many_cpus_is_refused(make_spec) -> None:
    spec = make_spec(resources={"cpu": 4, "gpu": 0})
    with pytest.raises(ResourceError) as err:
        check_resources(spec, Capacity(((2.0, 0.0), (3.0, 0.0)), "the Ray cluster"))
    assert str(err.value) == (
        "resources.cpu: each trial asks for 4 CPU(s) but the Ray cluster has 3 on its largest node; lower resources.cpu"
    )


def test_cpu_and_gpu_on_different_nodes_is_refused(make_spec) -> None:
    spec = make_spec(resources={"cpu": 4, "gpu": 1})
    with pytest.raises(ResourceError, match="no node of the Ray cluster has 4 CPU"):
        check_resources(spec, Capacity(((8.0, 0.0), (2.0, 1.0)), "the Ray cluster"))


def test_fits_and_slots_count_fractional_gpus(make_spec) -> None:
    spec = make_spec(resources={"cpu": 1, "gpu": 0.5})
    cap = Capacity(((4.0, 1.0), (2.0, 2.0)), "the Ray cluster")
    check_resources(spec, cap)
    assert concurrency_slots(spec, cap) == 2 + 2  # GPU-bound on node 1, CPU-bound on node 2


_PLANNED = """
import json, sys
import ray
sys.path.insert(0, "tests/search_tests")
from conftest import BASE, _merge
from hpo.search.cluster.local import planned_capacity
from hpo.spaces import parse_spec
cap = planned_capacity(parse_spec(_merge(BASE, {"cluster": {"num_cpus": 3, "num_gpus": 1}})))
auto = planned_capacity(parse_spec(_merge(BASE, {"cluster": {"address": "auto"}})))
print(json.dumps([cap.nodes, cap.where, auto is None, ray.is_initialized()]))
"""


def test_planned_capacity_uses_cluster_sizing_without_ray() -> None:
    # A fresh interpreter: in this one the session's Ray may be running, and planned_capacity would use it.
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", _PLANNED], cwd=root, capture_output=True, text=True, check=True)
    nodes, where, auto_unknown, ray_started = json.loads(out.stdout.strip().splitlines()[-1])
    assert nodes == [[3.0, 1.0]] and where == "this machine"
    assert auto_unknown and not ray_started



def test_gpus_declared_beyond_what_cuda_sees_are_logical_and_said_once(make_spec) -> None:
    from hpo.search.cluster.local import cuda_gpu_count, gpu_kind

    spec = make_spec(resources={"cpu": 1, "gpu": 1}, cluster={"num_gpus": 64})  # more than any machine here has
    assert gpu_kind(spec) == ("logical", (
        f"cluster.num_gpus: 64 GPU(s) declared but CUDA sees {cuda_gpu_count()} on this machine: trials asking for a "
        "GPU run on the CPU; their GPU-hours are Ray's bookkeeping (recorded as logical)"))
    assert gpu_kind(make_spec(resources={"cpu": 1, "gpu": 0}, cluster={"num_gpus": 64})) == (None, None)  # no GPU-h
    assert gpu_kind(make_spec(resources={"cpu": 1, "gpu": 1})) == ("cuda", None)  # Ray counts real GPUs itself
