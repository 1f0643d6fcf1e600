from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from hpo import trainables
from hpo.trainables import RunContext, TrainableNotFoundError, build_trainable, register, resolve
from hpo.trainables import registry as registry_module


@pytest.fixture(autouse=True)
def _clean_registry() -> Iterator[None]:
    saved = dict(registry_module._REGISTRY)
    yield
    registry_module._REGISTRY.clear()
    registry_module._REGISTRY.update(saved)


def my_trainable(config: dict) -> None:
    """A module-level function for import-path resolution."""


def test_import_registers_cifar_without_torch_or_ray() -> None:
    code = (
        "import sys, trainables; "
        "print(trainables.registered_names()); "
        "print(sorted(m for m in ('torch', 'ray', 'torchvision') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["['cifar']", "[]"]


def test_register_decorator_returns_function_and_resolves() -> None:
    @register("tiny")
    def train(config: dict) -> None:
        pass

    assert resolve("tiny") is train
    assert "tiny" in trainables.registered_names()


def test_resolve_builtin_cifar_and_import_path(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from hpo.trainables.cifar import train_cifar

    assert resolve("cifar") is train_cifar
    (tmp_path / "user_trainables.py").write_text("def train(config):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    fn = resolve("user_trainables:train")
    assert fn.__module__ == "user_trainables" and fn.__name__ == "train"


def test_unknown_name_lists_registered_names() -> None:
    register("alpha")(my_trainable)
    with pytest.raises(TrainableNotFoundError) as info:
        resolve("cifra")
    assert str(info.value) == (
        "unknown trainable 'cifra': registered names are alpha, cifar; or give an import path 'package.module:function'"
    )
    assert isinstance(info.value, LookupError)


def test_import_path_missing_module() -> None:
    with pytest.raises(TrainableNotFoundError) as info:
        resolve("no_such_pkg.mod:fn")
    assert str(info.value) == (
        "trainable 'no_such_pkg.mod:fn': cannot import module 'no_such_pkg.mod' (No module named 'no_such_pkg')"
    )


def test_import_path_missing_attribute() -> None:
    with pytest.raises(TrainableNotFoundError) as info:
        resolve("hpo.trainables.registry:nope")
    assert (
        str(info.value) == "trainable 'hpo.trainables.registry:nope': "
        "module 'hpo.trainables.registry' has no attribute 'nope'"
    )


def test_import_path_not_callable() -> None:
    with pytest.raises(TrainableNotFoundError) as info:
        resolve("hpo.trainables.registry:__all__")
    assert str(info.value) == "trainable 'hpo.trainables.registry:__all__': '__all__' is not callable"


def test_build_trainable_passes_callables_and_classes_through() -> None:
    class MyTrainable:
        pass

    ctx = RunContext(fixed={"dataset": "synthetic"}, max_epochs=2, on_oom="fail", seed=0)
    assert build_trainable(my_trainable, ctx) is my_trainable
    assert build_trainable(MyTrainable, ctx) is MyTrainable


def test_build_trainable_runs_prepare_hook_in_driver() -> None:
    seen: list[RunContext] = []

    def prepare(fn, ctx):  # type: ignore[no-untyped-def]
        seen.append(ctx)
        return ("wrapped", fn)

    register("prepared", prepare=prepare)(my_trainable)
    ctx = RunContext(fixed={"a": 1}, max_epochs=3, on_oom="halve_batch", seed=7)
    assert build_trainable("prepared", ctx) == ("wrapped", my_trainable)
    assert seen == [ctx]
    from hpo.trainables.training import train_epochs

    assert build_trainable("hpo.trainables.training:train_epochs", ctx) is train_epochs


def test_run_context_is_frozen() -> None:
    ctx = RunContext(fixed={}, max_epochs=1, on_oom="fail", seed=None)
    with pytest.raises(AttributeError):
        ctx.max_epochs = 2  # type: ignore[misc]
