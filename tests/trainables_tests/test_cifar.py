from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hpo.trainables import RunContext, build_trainable, evaluate_checkpoint
from hpo.trainables.data import load_dataset
from hpo.trainables.training import Trainer

METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_time_s", "images_per_s")


@pytest.mark.slow(seconds=5)
def test_evaluate_checkpoint_on_test_and_val(cifar_root: Path, tmp_path: Path) -> None:
    config = {"dataset": "cifar10", "data_dir": str(cifar_root), "download": False, "epochs": 1, "batch_size": 16}
    trainer = Trainer(config, device="cpu")
    trainer.train_epoch()
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    trainer.save(ckpt)
    assert json.loads((ckpt / "config.json").read_text())["data_dir"] == str(cifar_root)

    test = evaluate_checkpoint(ckpt)
    assert test["split"] == "test" and test["n"] == 30 and test["epoch"] == 1
    assert 0.0 <= test["acc"] <= 1.0 and test["loss"] > 0
    assert (test["dataset"], test["model"]) == ("cifar10", "tutorial_cnn")
    data = load_dataset("cifar10", data_dir=cifar_root, download=False)
    expected = trainer.evaluate(data.test_x, data.test_y)
    assert test["loss"] == pytest.approx(expected[0]) and test["acc"] == pytest.approx(expected[1])

    val = evaluate_checkpoint(ckpt, split="val")
    assert val["n"] == 10
    # The data may have moved: data_dir overrides the checkpoint's.
    moved = tmp_path / "moved"
    shutil.copytree(cifar_root, moved)
    shutil.rmtree(cifar_root)
    assert evaluate_checkpoint(ckpt, data_dir=moved)["acc"] == pytest.approx(test["acc"])
    with pytest.raises(ValueError) as info:
        evaluate_checkpoint(ckpt, split="train")
    assert str(info.value) == "split must be 'test' or 'val', got 'train'"


@pytest.mark.integration
def test_cifar_trainable_under_ray_tune(ray_session: None, cifar_root: Path, tmp_path: Path) -> None:
    from ray import tune

    fixed = {"dataset": "cifar10", "data_dir": str(cifar_root), "download": False, "batch_size": 16}
    ctx = RunContext(fixed=fixed, max_epochs=2, on_oom="halve_batch", seed=0)
    trainable = build_trainable("cifar", ctx)
    # The data now travels through the object store: trials must not need the files.
    shutil.rmtree(cifar_root)
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 1}),
        param_space={**fixed, "lr": tune.grid_search([0.01, 0.05]), "model": "tutorial_cnn", "l1": 16, "l2": 8},
        tune_config=tune.TuneConfig(metric="val_loss", mode="min"),
        run_config=tune.RunConfig(name="cifar_it", storage_path=str(tmp_path / "ray"), verbose=0),
    )
    results = tuner.fit()
    assert len(results) == 2 and not results.errors
    for result in results:
        assert result.metrics["training_iteration"] == 2 and result.metrics["epoch"] == 2
        for key in METRICS:
            assert isinstance(result.metrics[key], float), key
        assert result.checkpoint is not None
        with result.checkpoint.as_directory() as directory:
            assert (Path(directory) / "trainer.pt").is_file() and (Path(directory) / "config.json").is_file()
    history = results[0].metrics_dataframe
    assert list(history["epoch"]) == [1, 2]


@pytest.mark.slow
@pytest.mark.integration
def test_retried_trial_resumes_from_its_checkpoint(ray_session: None, tmp_path: Path) -> None:
    from ray import tune

    # Defined inside the test so Ray pickles it by value (the test module is not importable).
    def _crash_once_cifar(config: dict, **kwargs: object) -> None:
        """train_cifar that dies after its first report the first time it runs (a lost worker).

        Each attempt logs "attempt:epoch" for every epoch it trains.
        """
        from hpo.search.engine.environ import swapped
        from hpo.trainables import training
        from hpo.trainables.cifar import train_cifar

        config = dict(config)
        marker = Path(config.pop("crash_marker"))
        log = marker.with_suffix(".log")
        attempt = 2 if marker.exists() else 1
        marker.touch()
        original = training.Trainer.epochs

        def logged(self):  # type: ignore[no-untyped-def]
            for metrics in original(self):
                with log.open("a") as fh:
                    fh.write(f"{attempt}:{metrics['epoch']}\n")
                yield metrics
                if attempt == 1:
                    raise RuntimeError("simulated worker crash")

        with swapped(training.Trainer, "epochs", logged):
            train_cifar(config, **kwargs)  # type: ignore[arg-type]

    config = {"dataset": "synthetic", "subset": 200, "batch_size": 32, "epochs": 3, "l1": 8, "l2": 8}
    trainable = tune.with_parameters(_crash_once_cifar, max_epochs=3, on_oom="fail", seed=0)
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 1}),
        param_space={**config, "crash_marker": str(tmp_path / "crashed")},
        run_config=tune.RunConfig(
            name="resume_it",
            storage_path=str(tmp_path / "ray"),
            verbose=0,
            failure_config=tune.FailureConfig(max_failures=1),
        ),
    )
    (result,) = list(tuner.fit())
    assert result.error is None
    assert result.metrics["epoch"] == 3 and result.metrics["training_iteration"] == 3
    # The retry resumed from the epoch-1 checkpoint: it trained epochs 2 and 3 only.
    assert (tmp_path / "crashed.log").read_text().split() == ["1:1", "2:2", "2:3"]


@pytest.mark.integration
def test_quickstart_asha_sweep_through_run_sweep(ray_session: None, tmp_home: Path) -> None:
    from hpo.search import run_sweep
    from hpo.spaces import load_spec

    overrides = ["search.num_samples=4", "scheduler.max_t=2", "fixed.epochs=2", "fixed.subset=600"]
    spec = load_spec("quickstart", overrides=overrides)
    assert spec.trainable == "cifar" and spec.scheduler.type == "asha"
    outcome = run_sweep(spec, progress="none")
    assert outcome.counts["error"] == 0 and sum(outcome.counts.values()) == 4
    assert outcome.best is not None
    for key in METRICS:
        assert isinstance(outcome.best.last_result[key], float), key
    assert outcome.best.checkpoint_path
