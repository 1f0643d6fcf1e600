"""The GPU check's CPU-side parts: plan and dry run, the no-CUDA line, time boxes, the figures read
from a real store, the specs it sweeps, and the summary table (plain pytest, no Ray)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from harness import wait_for

from bench.gpu import plan, probe, run, summary
from bench.gpu.check import _cuda_absent_after, main, output_folder, shown_python
from bench.gpu.oom import BATCH, HEADROOM_SHARE, headroom_bytes, oom_checks, oom_spec, trial_figures
from bench.gpu.packing import LAYOUTS, packing_figures, packing_spec
from bench.gpu.pytest_plugin import ray_init_kwargs
from bench.gpu.sweeps import hpo_sweep, last_error, read_trials, synthetic_train_images
from bench.gpu.throughput import MODEL_KWARGS, measurement_config, shipped_batch_sizes, timed_subset
from hpo.results import StoreError

ROOT = Path(__file__).resolve().parents[2]
NO_DRIVER = probe.driver_absent()
needs_no_driver = pytest.mark.skipif(NO_DRIVER is None, reason="an NVIDIA driver is here: this is the CPU path")


# -- plan and dry run --------------------------------------------------------------------------

def test_the_estimates_fit_the_budget_and_every_step_is_capped() -> None:
    steps = plan.build_steps(python="py", out=Path("o"))
    assert [s.name for s in steps] == ["env", "pytest-gpu", "oom", "throughput", "packing", "pytest-integration",
                                       "compile"]
    assert sum(s.estimate_s for s in steps) <= plan.BUDGET_S - plan.SUMMARY_S
    assert plan.BUDGET_S == 480
    assert all(plan.MIN_STEP_S <= s.estimate_s < s.cap_s < plan.BUDGET_S for s in steps[1:])


def test_dry_run_names_each_step_its_command_estimate_cap_and_the_budget() -> None:
    steps = plan.build_steps(python=".venv/bin/python", out=Path("gpu-check"))
    text = plan.dry_run_text(steps, out=Path("gpu-check"))
    lines = text.splitlines()
    assert lines[0] == ("gpu_check --dry-run: 7 steps, about 6 min 40 s estimated, within the budget of 8 min "
                        "(steps are capped; the run stops at the budget)")
    assert lines[1].split() == ["step", "estimate", "cap", "total", "what"]
    assert lines[2].split()[:4] == ["env", "5", "s", "30"]
    assert lines[3].strip() == "$ .venv/bin/python -m bench.gpu.probe --out gpu-check --json gpu-check/steps/env.json"
    assert lines[-4].split()[:8] == ["compile", "1", "min", "2", "min", "6", "min", "40"]  # the running total
    assert lines[-1] == "estimates are on paper for one H200-class GPU and 16 cores; no GPU run has timed them yet"
    assert ("$ .venv/bin/python -m pytest -p bench.gpu.pytest_plugin -p no:cacheprovider -rA -m gpu --timeout 120 "
            "--continue-on-collection-errors --junitxml=gpu-check/pytest-gpu.xml tests") in text


def test_dry_run_through_the_script_exits_0(tmp_path: Path) -> None:
    done = subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh"), "--dry-run", "--out", str(tmp_path / "x")],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("gpu_check --dry-run: 7 steps, about 6 min 40 s estimated")
    assert not (tmp_path / "x").exists()  # a dry run writes nothing


def test_fmt_s() -> None:
    assert [plan.fmt_s(s) for s in (0, 45, 59.6, 60, 400, 480)] == ["0 s", "45 s", "1 min", "1 min", "6 min 40 s",
                                                                       "8 min"]


def test_the_integration_slice_exists_and_the_two_gpu_test_joins_on_two_gpus_only() -> None:
    assert plan.integration_tests(1) == list(plan.INTEGRATION_TESTS) == plan.integration_tests(4)
    assert plan.integration_tests(2) == [*plan.INTEGRATION_TESTS, plan.TWO_GPU_TEST]
    for path in plan.INTEGRATION_TESTS:
        source = (ROOT / path).read_text()
        assert "pytest.mark.integration" in source and "ray_session" in source, path
    path, name = plan.TWO_GPU_TEST.split("::")
    assert f"def {name}(ray_session" in (ROOT / path).read_text()


def test_the_plugin_starts_the_fixtures_ray_with_the_real_gpu_count() -> None:
    tree = ast.parse((ROOT / "tests" / "conftest.py").read_text())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == "ray.init")
    fixture = {k.arg: eval(ast.unparse(k.value), {}) for k in call.keywords}  # constants such as 300 * 1024 * 1024
    assert fixture["num_gpus"] == 2  # logical GPUs on CPU machines ...
    assert ray_init_kwargs(1) == {**fixture, "num_gpus": 1}  # ... the real count on a GPU machine, all else equal


# -- the CPU machine ---------------------------------------------------------------------------

def test_absent_line() -> None:
    assert probe.absent_line("no NVIDIA driver: no nvidia-smi, no /dev/nvidia*") == (
        "gpu_check: CUDA is absent (no NVIDIA driver: no nvidia-smi, no /dev/nvidia*); "
        "nothing to check on this machine")


@needs_no_driver
def test_without_cuda_the_script_says_so_in_one_line_and_exits_0(tmp_path: Path) -> None:
    done = subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh"), "--out", str(tmp_path / "x")],
                          capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == (0, probe.absent_line(NO_DRIVER) + "\n", "")
    assert NO_DRIVER == "no NVIDIA driver: no nvidia-smi, no /dev/nvidia*"
    assert not (tmp_path / "x").exists()  # it ran no step: none left an output folder


@needs_no_driver
def test_main_without_cuda_returns_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert capsys.readouterr().out == probe.absent_line(NO_DRIVER) + "\n"


def test_a_driver_without_cuda_in_torch_is_absent_too() -> None:
    cpu_torch = run.StepResult("env", "failed", figures={"torch": "2.14.1+cpu", "cuda_available": False})
    assert _cuda_absent_after(cpu_torch) == "torch 2.14.1+cpu sees no CUDA device"
    broken = run.StepResult("env", "timeout", error="stopped at its cap of 30 s; last line: None")
    assert _cuda_absent_after(broken) == ("the env step did not say (timeout: stopped at its cap of 30 s; "
                                          "last line: None)")
    assert _cuda_absent_after(run.StepResult("env", "ok", figures={"cuda_available": True})) is None


def test_output_folder_and_shown_python() -> None:
    assert output_folder("a", {"OUT": "b"}) == Path("a")
    assert output_folder(None, {"OUT": "b"}) == Path("b")
    assert output_folder(None, {}) == Path("gpu-check")
    assert shown_python(str(ROOT / ".venv" / "bin" / "python")) == ".venv/bin/python"
    assert shown_python("/usr/bin/python3") == "/usr/bin/python3"


def test_parse_gpu_query() -> None:
    text = "NVIDIA H200, 143771, 570.124.06, 9.0\nbad line\n"
    assert probe.parse_gpu_query(text) == [
        {"name": "NVIDIA H200", "memory_mib": 143771, "driver": "570.124.06", "compute_cap": "9.0"}]


# -- time boxes --------------------------------------------------------------------------------

def _python_step(code: str) -> plan.Step:
    return plan.Step("demo", "a demo", 1, 5, (sys.executable, "-c", code), "figures", "logs/demo.log")


def test_a_step_leaves_its_figures_and_its_log(tmp_path: Path) -> None:
    code = (f"import json; print('measuring'); open({str(tmp_path / 'steps' / 'demo.json')!r}, 'w').write("
            "json.dumps({'status': 'ok', 'figures': {'x': 1}}))")
    (tmp_path / "steps").mkdir()
    result = run.run_step(_python_step(code), out=tmp_path, cap_s=20, env=run.step_env(tmp_path))
    assert (result.status, result.figures, result.error) == ("ok", {"x": 1}, None)
    assert (tmp_path / "logs" / "demo.log").read_text() == "measuring\n"


def test_a_failing_step_says_its_exit_and_last_line(tmp_path: Path) -> None:
    result = run.run_step(_python_step("import sys; print('boom'); print(); sys.exit(3)"), out=tmp_path, cap_s=20,
                          env=run.step_env(tmp_path))
    assert (result.status, result.error) == ("failed", "exit 3: boom")


def test_a_step_past_its_cap_is_stopped_with_its_children(tmp_path: Path) -> None:
    step = plan.Step("demo", "a demo", 1, 5, ("sh", "-c", "sleep 60 & echo $!; echo started; sleep 60"), "figures",
                     "logs/demo.log")
    result = run.run_step(step, out=tmp_path, cap_s=1, env=run.step_env(tmp_path))
    assert (result.status, result.error) == ("timeout", "stopped at its cap of 1 s; last line: started")
    # Stopped, not waited for: the step's shell was still in its `sleep 60` (its log ends at "started").
    child = int((tmp_path / "logs" / "demo.log").read_text().split()[0])
    wait_for(lambda: not _alive(child), timeout=5, every=0.02, what=f"the step's child {child} to end with the step")


def test_a_sweep_past_its_time_gets_ctrl_c_first(tmp_path: Path) -> None:
    import signal

    log = tmp_path / "sweep.log"
    script = "trap 'echo interrupted; exit 130' INT; echo started; while :; do sleep 0.05; done"
    with log.open("wb") as fh:
        rc = run.run_group(["sh", "-c", script], timeout_s=0.5, env=dict(os.environ), stdout=fh, first=signal.SIGINT,
                           own_session=False)
    # Stopped on SIGINT, before any SIGKILL: its trap ran (SIGKILL cannot be trapped).
    assert rc is None and log.read_text().split() == ["started", "interrupted"]


def _alive(pid: int) -> bool:
    """Running (a killed orphan waiting for init to reap it is a zombie: dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:  # gone between the two looks, or no /proc
        return False
    return state != "Z"


def test_step_env_keeps_sweeps_in_the_output_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPO_STORE", "postgresql://elsewhere/db")
    monkeypatch.setenv("RAY_ADDRESS", "ray://cluster:10001")
    env = run.step_env(tmp_path)
    assert env["HPO_HOME"] == str(tmp_path / "hpo-home") and env["HPO_OFFLINE"] == "1"
    assert "HPO_STORE" not in env and "RAY_ADDRESS" not in env
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(ROOT)


def test_a_step_the_budget_has_no_room_for_is_skipped_with_why() -> None:
    step = plan.build_steps(python="py", out=Path("o"))[-1]
    assert run.skipped(step, 12.4).error == "not started: 12 s of the 8 min budget left (a step needs 20 s)"


@pytest.mark.slow(seconds=5)
def test_a_pytest_step_counts_its_tests_from_the_junit_file(tmp_path: Path) -> None:
    tests = tmp_path / "test_demo.py"
    tests.write_text("import pytest\n\ndef test_a():\n    pass\n\n@pytest.mark.parametrize('p', ['bf16'])\n"
                     "def test_b(p):\n    assert p == 'fp16'\n\n@pytest.mark.skip(reason='needs CUDA')\n"
                     "def test_c():\n    pass\n")
    # --rootdir: the junit names are relative to it (from the repo's rootdir, a temp path's folders show).
    step = plan.Step("pytest-demo", "a demo", 1, 5, (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                                     f"--rootdir={tmp_path}",
                                                     f"--junitxml={tmp_path / 'pytest-demo.xml'}", str(tests)),
                     "pytest", "pytest-demo.log")
    result = run.run_step(step, out=tmp_path, cap_s=60, env=run.step_env(tmp_path))
    assert result.figures == {"tests": 3, "passed": 1, "failed": 1, "errors": 0, "skipped": 1,
                              "failed_tests": ["test_demo::test_b[bf16]"], "skips": ["test_demo::test_c: needs CUDA"]}
    assert result.status == "failed" and result.error.startswith("pytest exit 1: ")
    assert run.junit_counts(tmp_path / "missing.xml") == {}


# -- what is swept, and the figures read back from a real store --------------------------------

def test_the_sweeps_pass_the_checks_hpo_sweep_makes_before_ray_starts() -> None:
    from hpo.search.engine.checks import check_spec
    from hpo.spaces import parse_spec

    for trials, gpu in LAYOUTS:
        spec = parse_spec(packing_spec(trials, gpu))
        check_spec(spec)
        assert (spec.name, spec.search.num_samples, spec.resources.gpu) == (f"packing-{trials}x{gpu:g}", trials, gpu)
    spec = parse_spec(oom_spec())
    check_spec(spec)
    assert (spec.failures.on_oom, spec.failures.max_retries, spec.fixed["batch_size"]) == ("halve_batch", 0, BATCH)


@pytest.mark.slow(seconds=5)
def test_hpo_sweep_runs_the_real_cli_and_returns_its_exit(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    bad = {**packing_spec(1, 1.0), "name": "too-many-gpus", "resources": {"cpu": 1, "gpu": 2}}
    assert hpo_sweep(bad, home=tmp_path / "home", timeout_s=60) == 2  # refused before Ray starts
    assert (tmp_path / "home" / "too-many-gpus.yaml").is_file()
    assert "resources.gpu: each worker of the cifar trainable trains on one GPU, got gpu=2" in capfd.readouterr().err
    with pytest.raises(StoreError):
        read_trials(tmp_path / "home", "too-many-gpus")


def _fill(home: Path, sweep: str, trials: dict[str, tuple[str, list[dict[str, Any]]]]) -> None:
    """Write trials into a real store through the callback's own writer (no Ray)."""
    from hpo.results import Store
    from hpo.results.store.records import dumps
    from hpo.results.store.writer import BatchWriter, TrialState

    with Store.open(home=home) as store:
        store.start_sweep(name=sweep, spec_yaml=None, spec_hash=None, metric="val_loss", mode="min")
        writer = BatchWriter(store.engine, sweep=sweep, metric="val_loss", mode="min")
        writer.ensure_sweep(max_t=3)
        for trial_id, (status, rows) in trials.items():
            state = TrialState.new(sweep, trial_id)
            queued = []
            for i, row in enumerate(rows, start=1):
                metrics = {k: v for k, v in row.items() if k != "recorded"}
                state.add_result(i, metrics["val_loss"], metrics, "min")
                queued.append((state, {"iteration": i, "time_total_s": float(i), "metric_value": metrics["val_loss"],
                                       "metrics": dumps(metrics), "recorded": row["recorded"]}))
            state.update(status=status, ended=time.time(), error="Traceback\nRuntimeError: boom\n"
                         if status == "error" else None)
            writer.flush([state], queued)


def _epoch(epoch: int, recorded: float, images_per_s: float, **more: Any) -> dict[str, Any]:
    return {"epoch": epoch, "recorded": recorded, "images_per_s": images_per_s, "epoch_time_s": 1.0,
            "val_loss": 1.0 / epoch, "gpu_mem_peak_mb": 900.0 + epoch, **more}


def test_packing_figures_from_the_store(tmp_path: Path) -> None:
    t0 = 1_000_000.0
    _fill(tmp_path, "packing-2x0.5", {
        "a": ("completed", [_epoch(1, t0 + 1, 50.0, gpu_mem_peak_mb=None),  # a metric one row lacks
                            _epoch(2, t0 + 2, 100.0), _epoch(3, t0 + 3, 120.0)]),
        "b": ("completed", [_epoch(1, t0 + 2, 40.0), _epoch(2, t0 + 3, 80.0), _epoch(3, t0 + 5, 90.0)]),
        "c": ("error", []),  # never reported: no figures of its own
    })
    runs = read_trials(tmp_path, "packing-2x0.5")
    assert [(r.trial_id, r.status, [x["epoch"] for x in r.results]) for r in runs] == [
        ("a", "completed", [1, 2, 3]), ("b", "completed", [1, 2, 3]), ("c", "error", [])]
    figures = packing_figures(runs, trials=3, gpu=0.5, images_per_epoch=900)
    assert json.loads(json.dumps(figures)) == figures == {
        "trials": 3, "gpu": 0.5, "completed": 2, "epochs": [3, 3, 0],
        "per_trial_images_per_s": [110.0, 85.0],  # median of epochs 2..3: the first epoch warms up
        "sum_images_per_s": 195.0,
        "span_s": 5.0,  # from a's first epoch start (t0 + 1 - 1 s) to b's last result (t0 + 5)
        "wall_images_per_s": 6 * 900 / 5.0,
        "overlap": 2.0 / 5.0,  # both ran from b's start (t0 + 1) to a's end (t0 + 3)
        "gpu_mem_peak_mb": 903.0,
    }


def test_oom_checks_pass_for_a_halved_trial_and_name_each_broken_promise(tmp_path: Path) -> None:
    def rows(micro: list[int], halvings: list[int], epochs: list[int]) -> list[dict[str, Any]]:
        return [_epoch(e, 1.0 + i, 10.0, micro_batch_size=m, oom_halvings=h, batch_size=BATCH)
                for i, (m, h, e) in enumerate(zip(micro, halvings, epochs, strict=True))]

    _fill(tmp_path, "oom", {
        "went-on": ("completed", rows([4096, 4096, 4096], [1, 1, 1], [1, 2, 3])),
        "twice": ("completed", rows([4096, 4096, 4096], [1, 1, 1], [1, 1, 2])),  # the retried epoch reported twice
        "no-oom": ("completed", rows([BATCH] * 3, [0, 0, 0], [1, 2, 3])),
        "died": ("error", rows([2048], [2], [1])),
    })
    by_id = {r.trial_id: r for r in read_trials(tmp_path, "oom")}
    failed = {tid: [k for k, ok in oom_checks(r, batch=BATCH, epochs=3).items() if not ok] for tid, r in by_id.items()}
    assert failed == {"went-on": [], "twice": ["each_epoch_once"],
                      "no-oom": ["out_of_memory_caught", "micro_batch_halved"],
                      "died": ["completed", "each_epoch_once"]}
    assert trial_figures(by_id["went-on"]) == {
        "status": "completed", "epochs": [1, 2, 3], "iterations": [1, 2, 3], "micro_batch": [4096] * 3,
        "oom_halvings": [1, 1, 1], "checks": dict.fromkeys(oom_checks(by_id["went-on"], batch=BATCH, epochs=3), True)}
    json.dumps(trial_figures(by_id["died"]))  # plain values: the step writes them as JSON
    assert last_error([by_id["went-on"], by_id["died"]]) == "; first trial error: RuntimeError: boom"
    assert last_error([by_id["went-on"]]) == ""


def test_the_headroom_fits_half_the_batch_but_not_all_of_it() -> None:
    context, peak = 600 << 20, 18 << 30
    keep = headroom_bytes(context=context, peak=peak)
    assert keep == context + int(HEADROOM_SHARE * peak)
    assert context + peak > keep > context + peak // 2 + (256 << 20)  # half the batch, plus weights and slack


def _blank_set(n: int) -> Any:
    """A DataSet of ``n`` blank images: the split arithmetic needs no pixels (and no 10,000 drawn ones)."""
    import torch

    from hpo.trainables.data import DataSet

    return DataSet("synthetic", torch.zeros(n, 3, 32, 32, dtype=torch.uint8), torch.zeros(n, dtype=torch.int64),
                   torch.zeros(1, 3, 32, 32, dtype=torch.uint8), torch.zeros(1, dtype=torch.int64), 10,
                   (0.5,) * 3, (0.25,) * 3, "memory")


def test_synthetic_train_images() -> None:
    from hpo.trainables.data import SYNTHETIC_TRAIN, split_train_val

    assert synthetic_train_images() == 9000 == split_train_val(_blank_set(SYNTHETIC_TRAIN), subset=None,
                                                               val_fraction=0.1, seed=0).train_y.shape[0]
    split = split_train_val(_blank_set(2000), subset=1234, val_fraction=0.2, seed=3)
    assert synthetic_train_images(subset=1234, val_fraction=0.2) == len(split.train_y)


# -- throughput --------------------------------------------------------------------------------

def test_shipped_batch_sizes_are_read_from_the_real_configs() -> None:
    assert shipped_batch_sizes() == {"resnet_small": [256, 512, 1024], "tutorial_cnn": [2, 4, 8, 16, 64, 128]}


def test_a_timed_epoch_is_whole_batches_of_the_synthetic_set() -> None:
    from hpo.trainables.config import parse_config
    from hpo.trainables.data import SYNTHETIC_TRAIN, split_train_val

    data = _blank_set(SYNTHETIC_TRAIN)
    for batch in (2, 16, 128, 1024):
        subset, n_train = timed_subset(batch)
        config = parse_config(measurement_config("resnet_small" if batch >= 256 else "tutorial_cnn", batch, "bf16_cl"))
        split = split_train_val(data, subset=subset, val_fraction=config.val_fraction, seed=0)
        assert len(split.train_y) == n_train and n_train % batch == 0 and config.subset == subset
        assert (config.precision, config.channels_last, config.batch_size) == ("bf16", True, batch)
    assert timed_subset(2)[1] == 400 and timed_subset(512)[1] == 8192  # 200 steps at most; 8,192 images
    with pytest.raises(ValueError, match=r"^batch 20000 is larger than the 9899 train images the synthetic set gives$"):
        timed_subset(20_000)
    assert MODEL_KWARGS["resnet_small"] == {"width": 64, "depth": 2}


# -- the summary -------------------------------------------------------------------------------

REPORT: dict[str, Any] = {
    "started": "2030-01-02T03:04:05+00:00", "budget_s": 480, "elapsed_s": 401.2,
    "machine": {"gpus": [{"name": "NVIDIA H200", "memory_mib": 143771, "driver": "570.1", "compute_cap": "9.0"}],
                "torch": "2.14.1+cu130", "cuda": "13.0", "ray": "2.60.0", "device_count": 1,
                "cuda_available": True},
    "steps": [
        {"name": "env", "status": "ok", "seconds": 4.0, "estimate_s": 5, "figures": {}},
        {"name": "pytest-gpu", "status": "failed", "seconds": 31.0, "estimate_s": 30, "error": "pytest exit 1: x",
         "figures": {"tests": 6, "passed": 5, "failed": 1, "errors": 0, "skipped": 0,
                     "failed_tests": ["tests.trainables_tests.test_gpu::test_real_oom_message_names_the_gpu"]}},
        {"name": "oom", "status": "ok", "seconds": 40.0, "estimate_s": 45,
         "figures": {"batch": 8192, "peak_gb": 18.04, "headroom_gb": 11.43, "total_gb": 150.0,
                     "micro_batch": [4096, 4096, 4096], "oom_halvings": [1, 1, 1], "epochs": [1, 2, 3]}},
        {"name": "throughput", "status": "ok", "seconds": 50.0, "estimate_s": 60,
         "figures": {"rows": [{"model": "resnet_small", "batch": 512, "fp32": 20000.0, "bf16_cl": 45000.0}]}},
        {"name": "packing", "status": "ok", "seconds": 100.0, "estimate_s": 110,
         "figures": {"runs": [
             {"trials": 1, "gpu": 1.0, "sum_images_per_s": 40000.0, "wall_images_per_s": 20000.0, "overlap": 1.0},
             {"trials": 2, "gpu": 0.5, "sum_images_per_s": 60000.0, "wall_images_per_s": 30000.0, "overlap": 0.9},
             {"trials": 4, "gpu": 0.25, "sum_images_per_s": 64000.0, "wall_images_per_s": 34000.0, "overlap": 0.75},
         ]}},
        {"name": "pytest-integration", "status": "ok", "seconds": 80.0, "estimate_s": 90,
         "figures": {"tests": 6, "passed": 6, "failed": 0, "errors": 0, "skipped": 0, "failed_tests": []}},
        {"name": "compile", "status": "timeout", "seconds": 96.0, "estimate_s": 60,
         "error": "stopped at its cap of 1 min 36 s; last line: compiling", "figures": {"eager": 45000.0}},
    ],
}


def test_the_summary_puts_each_figure_beside_its_same_run_baseline() -> None:
    lines = summary.summary_text(REPORT).splitlines()
    assert lines[0] == ("GPU check 2030-01-02T03:04:05+00:00: NVIDIA H200 (143,771 MiB), driver 570.1, CUDA 13.0, "
                        "torch 2.14.1+cu130, Ray 2.60.0; 6 min 41 s of 8 min")
    assert lines[1:12] == [
        "figure                                                    value                                     "
        "              baseline (same run)                    vs baseline",
        "pytest -m gpu                                             5 passed, 1 failed                        "
        "              -                                      FAILED",
        "OOM halve_batch, b8192                                    "
        "micro-batch 4096 after 1 halving(s); epochs 1,2,3 once  peak 18.0 GB alone, 11.4 GB left free  ok",
        "resnet_small b512 bf16+channels_last img/s                45,000                                    "
        "              fp32 20,000                            2.25x",
        "packing 2 x gpu 0.5: sum of trials' img/s (overlap 90%)   60,000                                    "
        "              1 x gpu 1: 40,000                      1.50x",
        "packing 2 x gpu 0.5: wall-clock img/s                     30,000                                    "
        "              1 x gpu 1: 20,000                      1.50x",
        "packing 4 x gpu 0.25: sum of trials' img/s (overlap 75%)  64,000                                    "
        "              1 x gpu 1: 40,000                      1.60x",
        "packing 4 x gpu 0.25: wall-clock img/s                    34,000                                    "
        "              1 x gpu 1: 20,000                      1.70x",
        "integration slice (Ray num_gpus=1)                        6 passed                                  "
        "              -                                      ok",
        "compile                                                   timeout                                   "
        "              -                                      see below",
        "failed in pytest-gpu: tests.trainables_tests.test_gpu::test_real_oom_message_names_the_gpu",
    ]
    assert lines[12:] == [
        "pytest-gpu failed: pytest exit 1: x",
        "compile timeout: stopped at its cap of 1 min 36 s; last line: compiling",
        "steps: env ok 4 s (est 5 s), pytest-gpu failed 31 s (est 30 s), oom ok 40 s (est 45 s), throughput ok 50 s "
        "(est 1 min), packing ok 1 min 40 s (est 1 min 50 s), pytest-integration ok 1 min 20 s (est 1 min 30 s), "
        "compile timeout 1 min 36 s (est 1 min)",
    ]


def test_the_summary_of_a_compile_run_and_of_a_card_too_small_for_the_batch() -> None:
    compiled = {"model": "resnet_small", "batch": 512, "offered": False, "eager": 45000.0, "compiled": 54000.0,
                "first_epoch_s": 41.0}
    assert summary.rows({"steps": [{"name": "compile", "status": "ok", "figures": compiled}]}) == [
        ("resnet_small b512 torch.compile img/s (bench-side wrap; warm-up 41 s)", "54,000", "eager 45,000", "1.20x")]
    small = {"batch": 8192, "peak_gb": None, "total_gb": 24.0, "micro_batch": [2048] * 3, "oom_halvings": [2] * 3,
             "epochs": [1, 2, 3]}
    assert summary.rows({"steps": [{"name": "oom", "status": "ok", "figures": small}]}) == [
        ("OOM halve_batch, b8192", "micro-batch 2048 after 2 halving(s); epochs 1,2,3 once",
         "does not fit the 24 GB card alone", "ok")]


def test_a_written_report_is_the_machine_then_every_step(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    env = run.StepResult("env", "ok", seconds=3.21, estimate_s=5, cap_s=30, figures={"torch": "2.14.1"})
    other = run.StepResult("oom", "skipped", error="not started")
    report = run.write_report(tmp_path / "r.json", [env, other], started_at=datetime(2030, 1, 2, tzinfo=UTC),
                              elapsed_s=12.345)
    assert json.loads((tmp_path / "r.json").read_text()) == report
    assert (report["started"], report["budget_s"], report["elapsed_s"], report["machine"]) == (
        "2030-01-02T00:00:00+00:00", 480, 12.3, {"torch": "2.14.1"})
    assert [s["name"] for s in report["steps"]] == ["env", "oom"] and report["steps"][0]["seconds"] == 3.2
