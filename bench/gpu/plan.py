"""The steps of the GPU check, what each runs, its estimated time and its cap, and the dry run's text.

Estimates are on paper for one H200-class GPU with 16 CPU cores (no GPU run has timed them
yet); caps are where a step is stopped. The whole run stops at `BUDGET_S` whatever the caps say:
a step starts only with at least `MIN_STEP_S` left, and never runs past the budget.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "BUDGET_S",
    "INTEGRATION_TESTS",
    "MIN_STEP_S",
    "SUMMARY_S",
    "Step",
    "build_steps",
    "dry_run_text",
    "fmt_s",
    "integration_tests",
]

BUDGET_S = 480  # the whole check, in seconds: 8 minutes of one GPU
SUMMARY_S = 25  # kept back: stopping a step at its cap (up to 15 s of grace), then the JSON and the table
MIN_STEP_S = 20  # a step with less time left than this is skipped, not started

# The single-GPU slice of the integration tests: the cifar trainable under a real Ray whose logical
# GPUs are the machine's (bench.gpu.pytest_plugin), and `hpo best --evaluate`, which scores a
# checkpoint on the driver's GPU. Their trials ask for no GPU, so they check that such trials stay
# off the card on a machine that has one.
INTEGRATION_TESTS = ("tests/trainables_tests/test_cifar.py", "tests/cli_tests/test_cli_evaluate.py")
# Asserts GPU ids 0, 0, 1, 1: true with exactly two logical GPUs, so it joins only on a 2-GPU machine.
TWO_GPU_TEST = "tests/search_tests/test_sweep.py::test_half_gpu_trials_share_one_logical_gpu"

PYTEST = ("-m", "pytest", "-p", "bench.gpu.pytest_plugin", "-p", "no:cacheprovider", "-rA")


@dataclass(frozen=True)
class Step:
    """One step of the check.

    Attributes:
        name: Short name (file names and the JSON use it).
        what: One line for the dry run.
        estimate_s: Expected seconds on one GPU.
        cap_s: Seconds after which the step is stopped.
        argv: The command, run from the repository root.
        kind: ``figures``: writes its JSON to ``steps/<name>.json``; ``pytest``: a junit XML file.
        log: Its output file, relative to the output folder.
    """

    name: str
    what: str
    estimate_s: int
    cap_s: int
    argv: tuple[str, ...]
    kind: Literal["figures", "pytest"]
    log: str


def integration_tests(gpus: int) -> list[str]:
    """The integration tests to run on a machine with ``gpus`` GPUs."""
    return [*INTEGRATION_TESTS, *([TWO_GPU_TEST] if gpus == 2 else [])]


def _module(python: str, out: Path, module: str, name: str, *extra: str) -> tuple[str, ...]:
    json_path = out / "steps" / f"{name}.json"
    return (python, "-m", f"bench.gpu.{module}", "--out", str(out), "--json", str(json_path), *extra)


def build_steps(*, python: str, out: Path, gpus: int = 1) -> list[Step]:
    """Every step in run order (most wanted first: the budget may cut the last ones).

    Args:
        python: The interpreter (the project's venv).
        out: The output folder.
        gpus: CUDA devices on the machine (picks the integration tests).
    """
    return [
        Step("env", "nvidia-smi > nvidia-smi.txt; torch, CUDA and Ray versions; the GPU's name and memory",
             5, 30, _module(python, out, "probe", "env"), "figures", "logs/env.log"),
        Step("pytest-gpu", "every gpu-marked test (tests/trainables_tests/test_gpu.py today)",
             30, 120, (python, *PYTEST, "-m", "gpu", "--timeout", "120", "--continue-on-collection-errors",
                       f"--junitxml={out / 'pytest-gpu.xml'}", "tests"), "pytest", "pytest-gpu.log"),
        Step("oom", "a real CUDA out-of-memory under `hpo sweep` with on_oom: halve_batch; the store read back",
             45, 120, _module(python, out, "oom", "oom"), "figures", "logs/oom.log"),
        Step("throughput", "images/s of tutorial_cnn and resnet_small at the shipped batch sizes, fp32 vs "
             "bf16+channels_last", 60, 150, _module(python, out, "throughput", "throughput"), "figures",
             "logs/throughput.log"),
        Step("packing", "`hpo sweep` of 1 trial at gpu: 1, 2 at 0.5, 4 at 0.25: total images/s from the store",
             110, 210, _module(python, out, "packing", "packing"), "figures", "logs/packing.log"),
        Step("pytest-integration", "the single-GPU slice of the integration tests, on a Ray whose num_gpus is the "
             "machine's",
             90, 180, (python, *PYTEST, "-m", "integration", "--timeout", "170",
                       f"--junitxml={out / 'pytest-integration.xml'}", *integration_tests(gpus)), "pytest",
             "pytest-integration.log"),
        Step("compile", "torch.compile against eager, resnet_small batch 512 bf16+channels_last",
             60, 120, _module(python, out, "throughput", "compile", "--compile"), "figures", "logs/compile.log"),
    ]


def fmt_s(seconds: float) -> str:
    """``45 s``, ``6 min 40 s``, ``8 min``."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    minutes, rest = divmod(s, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def dry_run_text(steps: list[Step], *, out: Path) -> str:
    """What the check would run: each step's estimate, cap and the running total, against the budget."""
    total = sum(s.estimate_s for s in steps)
    fits = "within" if total <= BUDGET_S - SUMMARY_S else "OVER"
    lines = [f"gpu_check --dry-run: {len(steps)} steps, about {fmt_s(total)} estimated, {fits} the budget of "
             f"{fmt_s(BUDGET_S)} (steps are capped; the run stops at the budget)"]
    rows, by = [("step", "estimate", "cap", "total", "what")], 0
    for s in steps:
        by += s.estimate_s
        rows.append((s.name, fmt_s(s.estimate_s), fmt_s(s.cap_s), fmt_s(by), s.what))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    commands = iter(["", *(shlex.join(s.argv) for s in steps)])
    for r in rows:
        lines.append("  " + "  ".join([r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:4], widths[1:],
                                                                                          strict=True)), r[4]]))
        if command := next(commands):
            lines.append("  " + " " * (sum(widths) + 8) + "  $ " + command)
    lines += [
        f"outputs in {out}/ (--out, else $OUT, else ./gpu-check/): gpu_check.json (every figure), summary.txt "
        "(the table), nvidia-smi.txt, pytest-gpu.log, pytest-integration.log, logs/<step>.log, "
        "hpo-home/store.sqlite (HPO_HOME of the sweeps)",
        "estimates are on paper for one H200-class GPU and 16 cores; no GPU run has timed them yet",
    ]
    return "\n".join(lines)
