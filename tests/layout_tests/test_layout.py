"""The house rules, read from the source (AST only: no Ray, no import of hpo).

- no import cycle between hpo's modules (imports under ``if TYPE_CHECKING:`` aside);
- no ``from x import _y`` across modules (hpo's own modules, the tests and the benchmarks);
- arrows one way: ``results``, ``spaces`` and ``trainables`` import none of each other nor
  ``search``; ``results.analysis`` imports neither ``results.report`` nor ``results.dashboard``;
  ``results.report`` does not import ``results.dashboard``; nothing imports ``search.cli`` but
  the console script;
- Ray's and Optuna's private names are touched only in ``search/ray_compat/`` (and Optuna's
  fANOVA in ``results/analysis/fanova_compat.py``);
- ``pyproject.toml`` installs every package folder.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"hpo": "hpo", "search": "hpo.search", "spaces": "hpo.spaces", "trainables": "hpo.trainables",
           "results": "hpo.results", "configs": "hpo.configs"}
COMPAT = ("hpo.search.ray_compat", "hpo.results.analysis.fanova_compat")
FOREIGN = ("ray", "optuna")
# Ray's and Optuna's private names hpo has needed, flagged wherever they appear outside the compat
# modules, even where a subclass of ours defines or overrides them (a method ``_exploit`` on our
# PBT subclass is still Ray's private hook).
KNOWN_FOREIGN = frozenset({
    "_ot_study", "_storage", "_space", "_exploit", "_trial_state", "_fetch_trial_dataframes",
    "_summary_writer_cls", "_checkpoint_results", "_hpopt_trials", "_trial_runs", "_trial_queues", "_wandb",
    "_fanova", "_actor_id", "_iterators", "_count_callbacks", "trial_data",
    "_ot_trials", "_suggest_from_define_by_run_func", "_convert_categories_to_indices", "_live_trials",
    "_handle_result", "_start_logging_actor", "_logger_actor_cls", "_QueueItem", "_WandbLoggingActor",
    "_recorded_extra_usage_tags",
})
# The standard library's documented names that start with an underscore (os._exit, a namedtuple's
# _asdict/_replace/_fields): public by their docs, so using them is not reaching into a private name.
STDLIB_DOCUMENTED = frozenset({"_exit", "_asdict", "_replace", "_fields", "_make"})
# Modules that are Ray's internals though their path has no underscore.
INTERNAL_MODULES = ("ray.train.v2",)


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the module imported (a submodule where ``from pkg import sub`` names one)
    names: tuple[str, ...]  # the names a ``from`` import takes ("" for ``import x``)
    line: int
    typing_only: bool


def source_modules(root: Path = ROOT) -> dict[str, Path]:
    """hpo's module names and their files, as the package-dir mapping installs them."""
    found: dict[str, Path] = {}
    for folder, package in FOLDERS.items():
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            found[".".join([package, *parts])] = path
    return found


def _typing_blocks(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(module: str, path: Path, known: set[str]) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_lines = _typing_blocks(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, ("",), node.lineno, node.lineno in typing_lines)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            names = tuple(a.name for a in node.names)
            subs = [n for n in names if f"{base}.{n}" in known]
            for sub in subs:
                yield Import(module, f"{base}.{sub}", (sub,), node.lineno, node.lineno in typing_lines)
            rest = tuple(n for n in names if n not in subs)
            if rest or not subs:
                yield Import(module, base, rest, node.lineno, node.lineno in typing_lines)


def all_imports(root: Path = ROOT) -> list[Import]:
    modules = source_modules(root)
    known = set(modules)
    return [imp for module, path in modules.items() for imp in imports_of(module, path, known)]


def cycles(imports: list[Import], known: set[str]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {m: set() for m in known}
    for imp in imports:
        if not imp.typing_only and imp.target in known and imp.target != imp.module:
            graph[imp.module].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def _rel(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


# (importer's package, imported package): arrows against the direction rule
FORBIDDEN = [
    ("hpo.results", "hpo.search"), ("hpo.results", "hpo.spaces"), ("hpo.results", "hpo.trainables"),
    ("hpo.spaces", "hpo.search"), ("hpo.spaces", "hpo.results"), ("hpo.spaces", "hpo.trainables"),
    ("hpo.trainables", "hpo.search"), ("hpo.trainables", "hpo.results"), ("hpo.trainables", "hpo.spaces"),
    ("hpo.results.analysis", "hpo.results.report"), ("hpo.results.analysis", "hpo.results.dashboard"),
    ("hpo.results.store", "hpo.results.report"), ("hpo.results.store", "hpo.results.dashboard"),
    ("hpo.results.report", "hpo.results.dashboard"),
]


def wrong_arrows(imports: list[Import]) -> list[str]:
    found = []
    for imp in imports:
        for src, dst in FORBIDDEN:
            if _within(imp.module, src) and _within(imp.target, dst):
                found.append(f"{imp.module}:{imp.line} imports {imp.target} ({src} must not import {dst})")
        if _within(imp.target, "hpo.search.cli") and not _within(imp.module, "hpo.search.cli"):
            found.append(f"{imp.module}:{imp.line} imports {imp.target} (only the console script imports the CLI)")
    return found


def private_imports(files: dict[str, Path], known: set[str]) -> list[str]:
    """``from x import _y`` where x is another module of hpo (its own package's __init__ included)."""
    found = []
    for module, path in files.items():
        for imp in imports_of(module, path, known):
            if not _within(imp.target, "hpo") or imp.target == module:
                continue
            private = [n for n in imp.names if n.startswith("_") and not n.startswith("__")]
            if private:
                found.append(f"{_rel(path)}:{imp.line} imports {', '.join(private)} from {imp.target}")
    return found


def _own_private_names(files: list[Path]) -> set[str]:
    """Every ``_name`` hpo itself defines: functions, classes, attributes, arguments, assignments."""
    names: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.keyword) and node.arg:
                names.add(node.arg)
            elif isinstance(node, ast.alias):
                names.add(node.asname or node.name)
            elif (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "setattr" and len(node.args) > 1
                  and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
                names.add(node.args[1].value)
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def _names_private(text: str) -> bool:
    """A string that is one of Ray's/Optuna's private names, or a dotted path through one."""
    if text in KNOWN_FOREIGN:
        return True
    parts = text.split(".")
    return (len(parts) > 1 and parts[0] in FOREIGN and all(p.isidentifier() for p in parts)
            and any(p.startswith("_") and not p.startswith("__") for p in parts))


def foreign_private_uses(modules: dict[str, Path]) -> list[str]:
    """Private Ray/Optuna names used outside the compat modules.

    An import of a private Ray/Optuna module or name, or an attribute ``obj._name`` (also through
    ``getattr(obj, "_name")``) that hpo does not define itself: hpo's own private names are known
    from its source, so what is left belongs to someone else.
    """
    own = _own_private_names(list(modules.values()))
    found = []
    for module, path in modules.items():
        if any(_within(module, c) for c in COMPAT):
            continue
        rel = _rel(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                base = node.module if isinstance(node, ast.ImportFrom) else None
                paths = [base] if base else [a.name for a in node.names]
                for dotted in paths:
                    parts = (dotted or "").split(".")
                    if parts[0] in FOREIGN and (any(p.startswith("_") for p in parts)
                                                or any(_within(dotted, m) for m in INTERNAL_MODULES)):
                        found.append(f"{rel}:{node.lineno} imports {dotted}")
                if base and base.split(".")[0] in FOREIGN:
                    for alias in node.names:
                        if alias.name.startswith("_") and not alias.name.startswith("__"):
                            found.append(f"{rel}:{node.lineno} imports {alias.name} from {base}")
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                if (node.attr not in own and node.attr not in STDLIB_DOCUMENTED) or node.attr in KNOWN_FOREIGN:
                    found.append(f"{rel}:{node.lineno} uses .{node.attr}")
            elif isinstance(node, ast.Attribute) and node.attr in KNOWN_FOREIGN:
                found.append(f"{rel}:{node.lineno} uses .{node.attr}")
            elif isinstance(node, ast.FunctionDef) and node.name in KNOWN_FOREIGN:
                found.append(f"{rel}:{node.lineno} overrides {node.name}")
            elif isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("getattr", "hasattr", "setattr"):
                name = node.args[1].value if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) else None
                if isinstance(name, str) and name.startswith("_") and not name.startswith("__") and name not in own:
                    found.append(f"{rel}:{node.lineno} uses {name!r} through {node.func.id}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _names_private(node.value):
                found.append(f"{rel}:{node.lineno} names {node.value!r}")
    return found


def test_no_import_cycles() -> None:
    modules = source_modules()
    groups = cycles(all_imports(), set(modules))
    assert groups == [], "import cycles: " + "; ".join(" <-> ".join(g) for g in groups)


def test_arrows_point_one_way() -> None:
    assert wrong_arrows(all_imports()) == []


def test_no_private_name_imported_across_modules() -> None:
    files = dict(source_modules())
    for folder in ("tests", "bench", "docs"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "old_layout" not in path.parts:  # run against the old layout on purpose (make_fixtures.py)
                files[".".join(path.relative_to(ROOT).with_suffix("").parts)] = path
    assert private_imports(files, set(source_modules())) == []


def test_ray_and_optuna_private_names_only_in_compat() -> None:
    assert foreign_private_uses(source_modules()) == []


OLD_NAMES = ("search", "spaces", "trainables", "results", "configs", "hpo_errors")


def test_nothing_imports_the_old_top_level_names() -> None:
    """The checkout's root holds search/, spaces/, ... as folders: from the root, ``import search`` would
    work by accident (``python -m pytest`` puts it on sys.path), so the source says it instead."""
    files = dict(source_modules())
    for folder in ("tests", "bench", "docs"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "old_layout" not in path.parts:
                files[".".join(path.relative_to(ROOT).with_suffix("").parts)] = path
    found = [f"{_rel(path)}:{imp.line} imports {imp.target}" for module, path in files.items()
             for imp in imports_of(module, path, set()) if imp.target.split(".")[0] in OLD_NAMES]
    assert found == []


def test_pyproject_installs_every_package_folder() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    folders = {m for m, p in source_modules().items() if p.name == "__init__.py"}
    assert sorted(config["packages"]) == sorted(folders)
    assert config["package-dir"] == {package: folder for folder, package in FOLDERS.items()}


def test_the_rules_catch_what_they_forbid(tmp_path: Path) -> None:
    """The checks themselves: a cycle, a private import, a wrong arrow, a private Ray name."""
    for folder in FOLDERS:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "results" / "a.py").write_text("from hpo.results.b import _helper\nfrom hpo.search import x\n")
    (tmp_path / "results" / "b.py").write_text("import hpo.results.a\n\ndef _helper():\n    pass\n")
    (tmp_path / "search" / "x.py").write_text("def f(study):\n    return study._storage\n")
    modules = source_modules(tmp_path)
    imports = [i for m, p in modules.items() for i in imports_of(m, p, set(modules))]
    assert cycles(imports, set(modules)) == [["hpo.results.a", "hpo.results.b"]]
    assert wrong_arrows(imports) == ["hpo.results.a:2 imports hpo.search.x (hpo.results must not import hpo.search)"]
    assert [line.split(" imports ")[1] for line in private_imports(modules, set(modules))] == [
        "_helper from hpo.results.b"]
    found = [line for line in foreign_private_uses(modules) if "_storage" in line]
    assert len(found) == 1 and found[0].endswith("x.py:2 uses ._storage")
