"""Importance without scikit-learn's import for PED-ANOVA, and fANOVA still there after it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A fresh interpreter: what a report process imports, in the order it imports it.
_SCRIPT = """
import sys
from store_rows import fill_sweep
from hpo.results import Store, param_importance

store = Store.open(home=sys.argv[1])
spec = "name: s\\ntrainable: cifar\\nmetric: loss\\nmode: min\\nparams:\\n  x: {type: float, low: 0.0, high: 1.0}\\n" \\
       "  y: {type: float, low: 0.0, high: 1.0}\\n"
fill_sweep(store, "s", spec, {f"t{i}": ({"x": i / 19, "y": (i * 7 % 20) / 19}, [(i / 19 - 0.3) ** 2], "complete")
                              for i in range(20)})
ped = param_importance(store, "s")
assert "sklearn" not in sys.modules, "PED-ANOVA imported scikit-learn"
fanova = param_importance(store, "s", evaluator="fanova")
assert "sklearn" in sys.modules
assert max(ped[0].values, key=ped[0].values.get) == max(fanova[0].values, key=fanova[0].values.get) == "x"
print("ok")
"""


@pytest.mark.slow(seconds=5)
def test_ped_anova_runs_without_scikit_learn_and_fanova_imports_it_when_asked(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(tmp_path / "runs")], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"}, timeout=120,
                          check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
