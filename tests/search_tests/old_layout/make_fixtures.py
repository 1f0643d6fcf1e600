"""Make the old-layout resume fixtures: two sweeps started, then SIGKILLed, by the OLD top-level layout.

MUST be run against commit a49b38e (the last commit before the packages moved into ``hpo``), whose
top-level packages are ``search``, ``spaces``, ``trainables``, ``results``, ``configs`` and the module
``hpo_errors``. Ray pickles the sweep's searcher, scheduler, callbacks and stopper by their module
paths (``search.restored_state.ReconcilingSearchGenerator``, ``search.schedulers.LineagePBT``,
``search.sweep._trial_dirname``...) into ``tuner.pkl``, ``experiment_state-*.json`` and the search
algorithm's state files, so these archives prove that a sweep started by that code still resumes
under the new layout (``tests/search_tests/test_resume_old_layout.py``). Run it from a worktree of
that commit, with the commit first on the import path (Ray's workers inherit it)::

    git -C /work/main worktree add --detach /work/old-tree a49b38e
    cd /work/old-tree
    PYTHONPATH=/work/old-tree /work/main/.venv/bin/python \\
        /work/main/tests/search_tests/old_layout/make_fixtures.py [--out DIR] [--only optuna_asha|pbt] [--keep]

It stops when ``import search`` does not load a top-level ``search`` package (the new layout has
none), and warns when that package's tree is not at a49b38e. It overwrites the archives in
``--out`` (default: this folder) with new kills at new moments; the test reads what each archive
holds, not fixed numbers. About a minute on 2 cores.

Each sweep runs a trainable of ``user_trainable.py`` (this folder; Ray Tune's public API only, no
hpo import) through ``search.run_sweep`` in a driver subprocess that joins this script's Ray, and
SIGKILLs the driver once trials have reported and checkpointed, before the sweep ends (as
``test_resume.py`` does). A kill is kept only if every file it left parses, the store holds no more
than Tune's saved state (no trial or result Tune lacks: the test can then say exactly what the
resume must redo), a trial has ended, an unfinished trial has a checkpoint, and every trial has
been suggested (see ``ready_to_kill``); otherwise the sweep is run and killed again. The home
(``store.sqlite``, its WAL folded in, and ``ray/<name>/``) is archived as the kill left it, absolute
paths included: the store records the home's storage path, and the test rewrites it to where it
extracts the archive. ``FIXTURE.json`` in each archive says where, when and with what it was made,
Tune's trials and the store's at the kill, and the old module paths each pickle names.

* ``optuna_asha``: Optuna (``algorithm: optuna``, ``sampler: tpe``) with ASHA, 4 trials, 2 at once,
  of the function trainable ``user_trainable:train`` named in the spec.
* ``pbt``: PBT (``scheduler: pbt``, asynchronous) over random search, 4 trials, 2 at once, of the
  ``tune.Trainable`` class ``user_trainable:Train``, passed as ``run_sweep(spec, trainable=Train)``
  (so resumed with ``resume_sweep("pbt", trainable=Train)``): hpo's PBT check refuses an undeclared
  trainable named in a spec, and takes a class that saves checkpoints only when it is passed; a
  function would need hpo's ``declare(checkpoints=True)``, which a module importing no hpo cannot use.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
COMMIT = "a49b38e"

SPECS: dict[str, dict[str, Any]] = {
    "optuna_asha": {
        "name": "optuna_asha",
        "trainable": "user_trainable:train",
        "metric": "loss",
        "mode": "min",
        "search": {"algorithm": "optuna", "sampler": "tpe", "num_samples": 4, "seed": 0, "max_concurrent": 2},
        "scheduler": {"type": "asha", "max_t": 6, "grace_period": 1, "reduction_factor": 2},
        "resources": {"cpu": 1, "gpu": 0},
        "params": {"x": {"type": "float", "low": -1.0, "high": 1.0}},
        "fixed": {"max_iter": 6, "sleep": 0.4, "rate": 0.5},
    },
    "pbt": {
        "name": "pbt",
        "trainable": "user_trainable:Train",
        "metric": "loss",
        "mode": "min",
        "search": {"algorithm": "random", "num_samples": 4, "seed": 0},
        # Asynchronous (hpo's default): a synch PBT resumed with trials at different steps stalls (Ray
        # keeps no PBT state; the new scheduler's next sync point can exclude every trial).
        "scheduler": {"type": "pbt", "max_t": 6, "perturbation_interval": 2, "quantile_fraction": 0.5,
                      "resample_probability": 0.0},
        "resources": {"cpu": 1, "gpu": 0},
        "params": {"x": {"type": "float", "low": -1.0, "high": 1.0},
                   "rate": {"type": "float", "low": 0.1, "high": 0.9}},
        "fixed": {"max_iter": 6, "sleep": 0.4},
    },
}

# Sweeps whose trainable is passed to run_sweep as an object (resume_sweep then needs trainable= too):
# today's check refuses PBT for an undeclared trainable named in the spec, even a Trainable class that
# saves checkpoints (search.checks.exploit_problems looks at the class only when it is passed).
PASSED_AS_OBJECT = {"pbt"}

DRIVER = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {trainable_dir!r})
    import ray
    ray.init(address={address!r}, log_to_driver=False, configure_logging=False)
    from spaces import parse_spec
    from search import run_sweep

    spec = parse_spec(json.loads(sys.argv[1]), source="old-layout-fixture")
    trainable = None
    if sys.argv[3] == "object":  # run_sweep(spec, trainable=...): the spec's name is then only a label
        import importlib

        module, _, attr = spec.trainable.partition(":")
        trainable = getattr(importlib.import_module(module), attr)
    run_sweep(spec, trainable=trainable, home=sys.argv[2], progress="plain")
    """
)

# As tests/conftest.py: less of Ray's own CPU on a small machine; nothing of hpo reads these.
RAY_ENV = {"RAY_enable_metrics_collection": "0", "RAY_task_events_report_interval_ms": "0",
           "RAY_prestart_worker_first_driver": "0", "RAY_DEDUP_LOGS": "0", "HPO_OFFLINE": "1"}


def check_layout() -> str:
    """The old layout must be what ``import search`` loads; returns the commit of its tree."""
    try:
        import search.sweep
    except ImportError as exc:
        sys.exit(f"make_fixtures.py: `import search` failed ({exc}); run it from a worktree of {COMMIT} "
                 "with PYTHONPATH pointing at it (see the docstring)")
    root = Path(search.__file__).resolve().parent.parent
    print(f"old layout: search from {search.__file__}")
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        head = "unknown"
    if not head.startswith(COMMIT):
        print(f"WARNING: {root} is at {head}, not {COMMIT}", file=sys.stderr)
    return head


def experiment_files_parse(experiment: Path, *, pickles: bool = True) -> bool:
    """Every state file Tune left parses (a SIGKILL can land mid-write of one); ``pickles``: its
    pickles too (they rebuild an Optuna study each: not on every poll)."""
    import cloudpickle

    try:
        states = sorted(experiment.glob("experiment_state-*.json"))
        if not states:
            return False
        for path in states:
            json.loads(path.read_text())
        if pickles:
            for pattern in ("search_gen_state-*.json", "searcher-state-*.pkl", "basic-variant-state-*.json"):
                for path in experiment.glob(pattern):
                    cloudpickle.loads(path.read_bytes())
            cloudpickle.loads((experiment / "tuner.pkl").read_bytes())
    except Exception:
        return False
    return True


def tune_trials(experiment: Path) -> dict[str, dict[str, Any]]:
    """Tune's newest saved state: trial id -> {status, iteration of the checkpoint Tune would restore or None}.

    The checkpoint is the trial's checkpoint manager's latest (a pickle of Ray's own classes only).
    """
    import cloudpickle

    newest = sorted(experiment.glob("experiment_state-*.json"))[-1]
    out: dict[str, dict[str, Any]] = {}
    for trial_json, meta_json in json.loads(newest.read_text())["trial_data"]:
        trial, meta = json.loads(trial_json), json.loads(meta_json)
        latest = cloudpickle.loads(bytes.fromhex(meta["checkpoint_manager"]["value"])).latest_checkpoint_result
        out[str(trial["trial_id"])] = {
            "status": trial["status"],
            "checkpoint": int(latest.metrics["training_iteration"]) if latest is not None else None}
    return out


def store_trials(home: Path, name: str) -> dict[str, tuple[str, int]]:
    with contextlib.closing(sqlite3.connect(home / "store.sqlite")) as conn:
        rows = conn.execute("SELECT t.trial_id, t.status, t.iterations FROM trials t JOIN sweeps s "
                            "ON t.sweep_id = s.id WHERE s.name = ?", (name,)).fetchall()
    return {tid: (status, iterations) for tid, status, iterations in rows}


# Every kill comes after the last trial was suggested. A trial created after a resume runs in the
# storage path Tune recorded when the sweep started, not the one it resumes from: Ray pickles the
# Experiment (its absolute storage path included) into the search generator's state
# (search_gen_state-*.json, basic-variant-state-*.json) and rewrites the paths of restored trials only.
# So in a home extracted elsewhere, as the test does, a new trial writes to (or fails on) the old home.
def ready_to_kill(home: Path, name: str) -> bool:
    """Every trial suggested, one ended, one unfinished with a checkpoint, the store in step with Tune."""
    experiment = home / "ray" / name
    try:
        if not experiment_files_parse(experiment, pickles=False):
            return False
        tune = tune_trials(experiment)
        stored = store_trials(home, name)
    except Exception:  # a file or the store mid-write: look again
        return False
    ended = [t for t in tune.values() if t["status"] in ("TERMINATED", "ERROR")]
    going = [t for t in tune.values() if t["status"] not in ("TERMINATED", "ERROR") and t["checkpoint"]]
    suggested = len(tune) == SPECS[name]["search"]["num_samples"]
    return bool(ended) and bool(going) and suggested and in_step(tune, stored)


def in_step(tune: dict[str, dict[str, Any]], stored: dict[str, tuple[str, int]]) -> bool:
    """The store holds what Tune's saved state holds, no more: no trial Tune lacks, no result past a
    trial's checkpoint. (The store flushes as Tune snapshots, so it is never behind. Were it ahead,
    the resume would replay over those rows, except where a scheduler then cut the replay shorter
    than the first run, leaving rows no check could tell from the replay's; test_resume.py covers
    kills at any moment.)"""
    return set(stored) <= set(tune) and all(iterations <= (tune[tid]["checkpoint"] or 0)
                                             for tid, (_, iterations) in stored.items())


def good_kill(home: Path, name: str) -> str | None:
    """Why the state the kill left is not a good fixture, or None when it is."""
    experiment = home / "ray" / name
    if not experiment_files_parse(experiment):
        return "a state file was cut short"
    tune, stored = tune_trials(experiment), store_trials(home, name)
    if not in_step(tune, stored):
        return f"the store is ahead of Tune's saved state: {stored} against {tune}"
    if len(tune) < SPECS[name]["search"]["num_samples"]:
        return "some trials not suggested yet (see ready_to_kill)"
    if not any(t["status"] not in ("TERMINATED", "ERROR") and t["checkpoint"] for t in tune.values()):
        return "no unfinished trial with a checkpoint"
    with contextlib.closing(sqlite3.connect(home / "store.sqlite")) as conn:
        status = conn.execute("SELECT status FROM sweeps WHERE name = ?", (name,)).fetchone()[0]
    if status != "running":
        return f"sweep status {status}, not running"
    return None


def run_and_kill(name: str, work: Path, address: str) -> Path:
    from spaces import parse_spec

    spec = parse_spec(SPECS[name], source="old-layout-fixture")
    for attempt in range(1, 6):
        home = work / f"{name}-{attempt}"
        script = work / "driver.py"
        script.write_text(DRIVER.format(trainable_dir=str(HERE), address=address))
        env = {**os.environ, **RAY_ENV, "TUNE_GLOBAL_CHECKPOINT_S": "0.1"}
        log = open(work / f"{name}-{attempt}.log", "w")  # noqa: SIM115
        how = "object" if name in PASSED_AS_OBJECT else "spec"
        proc = subprocess.Popen([sys.executable, str(script), json.dumps(spec.to_dict()), str(home), how],
                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(work))
        deadline = time.monotonic() + 180
        while not ready_to_kill(home, name) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is not None or time.monotonic() >= deadline:
            proc.kill()
            proc.wait(30)
            log.close()
            print(f"{name}: attempt {attempt} discarded: the driver ended ({proc.returncode}) before a good "
                  f"moment to kill it; its output: {log.name}")
            if proc.returncode not in (0, -signal.SIGKILL):
                print(Path(log.name).read_text()[-3000:])
            continue
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        log.close()
        time.sleep(3)  # the killed driver's trials' actors end (Ray reaps a dead driver's workers)
        problem = good_kill(home, name)
        if problem is None:
            print(f"{name}: killed at attempt {attempt}: {tune_trials(home / 'ray' / name)}")
            return home
        print(f"{name}: attempt {attempt} discarded: {problem}")
    sys.exit(f"{name}: no good kill in 5 attempts")


def pickled_module_paths(experiment: Path) -> dict[str, list[str]]:
    """Per pickle file of the experiment, the old layout's module paths it names (pickle GLOBAL opcodes)."""
    import pickletools

    own = ("search", "spaces", "trainables", "results", "configs", "hpo_errors")
    found: dict[str, list[str]] = {}

    def globals_in(data: bytes) -> set[str]:
        """``module.qualname`` of every class or function the pickle refers to (the memo followed)."""
        names: set[str] = set()
        memo: dict[int, Any] = {}
        pushed: list[Any] = []
        last: Any = None
        for op, arg, _ in pickletools.genops(io.BytesIO(data)):
            if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                last = arg
                pushed.append(arg)
            elif op.name == "MEMOIZE":
                memo[len(memo)] = last
            elif op.name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[int(arg)] = last
            elif op.name in ("GET", "BINGET", "LONG_BINGET"):
                last = memo.get(int(arg))
                pushed.append(last)
            elif op.name == "STACK_GLOBAL":
                module, qualname = pushed[-2], pushed[-1]
                if isinstance(module, str) and isinstance(qualname, str):
                    names.add(f"{module}.{qualname}")
                last = None
            elif op.name == "GLOBAL":
                names.add(arg.replace(" ", "."))
                last = None
            else:
                last = None
        return names

    for path in sorted(experiment.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        candidates: list[bytes] = []
        if data[:1] == b"\x80":  # a pickle, whatever its name (Tune's search_gen_state-*.json is one)
            candidates.append(data)
        elif path.suffix == ".json":
            with contextlib.suppress(ValueError):
                candidates += _pickles_in_json(json.loads(data))
        names: set[str] = set()
        for blob in candidates:
            try:
                names |= globals_in(blob)
            except Exception:  # not a pickle: its dotted names, as a grep would
                names |= {m.decode() for m in _dotted_names(blob)}
        mine = sorted(n for n in names if n.split(".", 1)[0] in own)
        if mine:
            found[str(path.relative_to(experiment.parent.parent))] = mine
    return found


def _pickles_in_json(value: Any) -> list[bytes]:
    """The pickles in Tune's JSON state: hex strings (``CLOUDPICKLE_FALLBACK`` values, Trial's own
    hex fields), JSON nested in strings (``trial_data``) followed."""
    found: list[bytes] = []
    if isinstance(value, dict):
        for item in value.values():
            found += _pickles_in_json(item)
    elif isinstance(value, list):
        for item in value:
            found += _pickles_in_json(item)
    elif isinstance(value, str):
        if value.startswith("80") and len(value) % 2 == 0 and all(c in "0123456789abcdef" for c in value):
            found.append(bytes.fromhex(value))
        elif value[:1] in ("{", "["):
            with contextlib.suppress(ValueError):
                found += _pickles_in_json(json.loads(value))
    return found


def _dotted_names(blob: bytes) -> list[bytes]:
    import re

    return re.findall(rb"(?<![\w.])(?:search|spaces|trainables|results|configs|hpo_errors)(?:\.[A-Za-z_]\w*)+", blob)


def archive(home: Path, name: str, out: Path, meta: dict[str, Any]) -> Path:
    """``<out>/<name>.tar.gz``: the home's store and Ray experiment, paths relative to the home."""
    # The store is SQLite in WAL mode: fold the killed driver's WAL into the one file archived.
    with contextlib.closing(sqlite3.connect(home / "store.sqlite")) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    leftover = [p.name for p in home.glob("store.sqlite?*")]
    if leftover:
        sys.exit(f"{name}: {leftover} left beside the store after folding its WAL in")
    (home / "FIXTURE.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    target = out / f"{name}.tar.gz"

    def clean(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    with tarfile.open(target, "w:gz", compresslevel=9) as tar:
        for rel in ("FIXTURE.json", "store.sqlite", f"ray/{name}"):
            tar.add(home / rel, arcname=rel, filter=clean)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=HERE, help="where the archives go (default: this folder)")
    parser.add_argument("--only", choices=sorted(SPECS), action="append", help="make only this one (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (its path is printed)")
    args = parser.parse_args()
    head = check_layout()
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # else a line per searcher state unpickled
    os.environ.update({k: v for k, v in RAY_ENV.items() if k not in os.environ})
    import ray

    work = Path(tempfile.mkdtemp(prefix="hpo-old-layout-"))
    print(f"work folder: {work}")
    ray.init(address="local", num_cpus=2, num_gpus=0, include_dashboard=False, log_to_driver=False,
             configure_logging=False, object_store_memory=200 * 1024 * 1024)
    address = ray.get_runtime_context().gcs_address
    try:
        for name in args.only or sorted(SPECS):
            home = run_and_kill(name, work, address)
            modules = pickled_module_paths(home / "ray" / name)
            meta = {"commit": head, "ray": ray.__version__, "python": platform.python_version(),
                    "made": time.strftime("%Y-%m-%d %H:%M:%S %z"), "home_when_made": str(home),
                    "spec": SPECS[name], "trainable_passed_as_object": name in PASSED_AS_OBJECT,
                    "tune_state_at_kill": tune_trials(home / "ray" / name), "store_at_kill": store_trials(home, name),
                    "old_module_paths": modules}
            target = archive(home, name, args.out, meta)
            print(f"{name}: {target} ({target.stat().st_size} bytes)")
            for file, names in modules.items():
                print(f"  {file}: {', '.join(names)}")
    finally:
        ray.shutdown()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
