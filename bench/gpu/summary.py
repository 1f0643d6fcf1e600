"""The table at the end of the GPU check: each figure beside its baseline from the same run.

Reads only the report (``gpu_check.json`` as a dict), so a saved report can be re-rendered:
``python -m bench.gpu.summary gpu-check/gpu_check.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.gpu.plan import fmt_s

__all__ = ["header", "rows", "summary_text"]

Row = tuple[str, str, str, str]  # figure, value, baseline in the same run, ratio or verdict
COLUMNS: Row = ("figure", "value", "baseline (same run)", "vs baseline")


def _n(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}x" if value and base else "-"


def header(report: dict[str, Any]) -> str:
    """One line: when, on what GPU, with which versions, and the time used of the budget."""
    m = report.get("machine") or {}
    gpu = (m.get("gpus") or [{}])[0]
    card = gpu.get("name") or m.get("device") or "GPU unknown"
    if gpu.get("memory_mib"):
        card += f" ({gpu['memory_mib']:,} MiB)"
    count = m.get("device_count")
    parts = [f"{count} x {card}" if count and count > 1 else card]
    for label, key in (("driver", None), ("CUDA", "cuda"), ("torch", "torch"), ("Ray", "ray")):
        value = gpu.get("driver") if key is None else m.get(key)
        if value:
            parts.append(f"{label} {value}")
    used = f"{fmt_s(report.get('elapsed_s', 0))} of {fmt_s(report.get('budget_s', 0))}"
    return f"GPU check {report.get('started', '?')}: {', '.join(parts)}; {used}"


def _pytest_rows(label: str, f: dict[str, Any], status: str) -> list[Row]:
    if not f.get("tests"):
        return []
    counts = ", ".join(f"{f[k]} {k}" for k in ("passed", "failed", "errors", "skipped") if f.get(k))
    return [(label, counts, "-", "ok" if status == "ok" else "FAILED")]


def _throughput_rows(f: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    for r in f.get("rows", []):
        out.append((f"{r['model']} b{r['batch']} bf16+channels_last img/s", _n(r.get("bf16_cl")),
                    f"fp32 {_n(r.get('fp32'))}", _ratio(r.get("bf16_cl"), r.get("fp32"))))
    return out


def _compile_rows(f: dict[str, Any]) -> list[Row]:
    if not f.get("compiled"):
        return []
    how = "trainable's option" if f.get("offered") else "bench-side wrap"
    warm = fmt_s(f.get("first_epoch_s", 0))
    label = f"{f['model']} b{f['batch']} torch.compile img/s ({how}; warm-up {warm})"
    return [(label, _n(f["compiled"]), f"eager {_n(f.get('eager'))}",
             _ratio(f["compiled"], f.get("eager")))]


def _packing_rows(f: dict[str, Any]) -> list[Row]:
    runs = {(r["trials"], r["gpu"]): r for r in f.get("runs", [])}
    base = runs.get((1, 1.0))
    out: list[Row] = []
    for key in ((2, 0.5), (4, 0.25)):
        r = runs.get(key)
        if r is None:
            continue
        what = f"packing {key[0]} x gpu {key[1]:g}"
        base_sum = base.get("sum_images_per_s") if base else None
        out.append((f"{what}: sum of trials' img/s (overlap {r.get('overlap', 0):.0%})",
                    _n(r.get("sum_images_per_s")), f"1 x gpu 1: {_n(base_sum)}",
                    _ratio(r.get("sum_images_per_s"), base_sum)))
        base_wall = base.get("wall_images_per_s") if base else None
        out.append((f"{what}: wall-clock img/s", _n(r.get("wall_images_per_s")), f"1 x gpu 1: {_n(base_wall)}",
                    _ratio(r.get("wall_images_per_s"), base_wall)))
    return out


def _oom_rows(f: dict[str, Any], status: str) -> list[Row]:
    if "batch" not in f:
        return []
    micro = f.get("micro_batch") or []
    epochs = f.get("epochs") or []
    halvings = (f.get("oom_halvings") or [0])[-1]
    went_on = (f"micro-batch {micro[-1]} after {halvings} halving(s); epochs {','.join(map(str, epochs))} once"
               if micro else "no result in the store")
    if f.get("peak_gb") is None:
        base = f"does not fit the {f.get('total_gb', 0):.0f} GB card alone"
    else:
        base = f"peak {f['peak_gb']:.1f} GB alone, {f.get('headroom_gb', 0):.1f} GB left free"
    return [(f"OOM halve_batch, b{f['batch']}", went_on, base, "ok" if status == "ok" else "FAILED")]


def _step_rows(name: str, status: str, f: dict[str, Any], gpus: Any) -> list[Row]:
    if name == "pytest-gpu":
        return _pytest_rows("pytest -m gpu", f, status)
    if name == "pytest-integration":
        return _pytest_rows(f"integration slice (Ray num_gpus={gpus})", f, status)
    if name == "throughput":
        return _throughput_rows(f)
    if name == "compile":
        return _compile_rows(f)
    if name == "packing":
        return _packing_rows(f)
    if name == "oom":
        return _oom_rows(f, status)
    return []


def rows(report: dict[str, Any]) -> list[Row]:
    """The table's rows, step by step; a step that left no figures shows its status instead."""
    gpus = (report.get("machine") or {}).get("device_count", "?")
    out: list[Row] = []
    for step in report.get("steps", []):
        name, status = step["name"], step["status"]
        found = _step_rows(name, status, step.get("figures") or {}, gpus)
        out.extend(found or ([] if status == "ok" else [(name, status, "-", "see below")]))
    return out


def summary_text(report: dict[str, Any]) -> str:
    """The header, the table, then what went wrong (failed tests by id, each failed step's reason)
    and each step's time against its estimate."""
    table = [COLUMNS, *rows(report)]
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    lines = [header(report)]
    lines += ["  ".join([*(cell.ljust(widths[i]) for i, cell in enumerate(r[:3])), r[3]]) for r in table]
    for step in report.get("steps", []):
        lines += [f"failed in {step['name']}: {test}" for test in (step.get("figures") or {}).get("failed_tests", [])]
        if step["status"] != "ok" and step.get("error"):
            lines.append(f"{step['name']} {step['status']}: {step['error']}")
    steps = ", ".join(f"{s['name']} {s['status']} {fmt_s(s['seconds'])} (est {fmt_s(s['estimate_s'])})"
                      for s in report.get("steps", []))
    lines.append(f"steps: {steps}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary_text(json.loads(Path(sys.argv[1]).read_text())))
