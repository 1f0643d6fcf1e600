"""The import names hpo had before it was one package, and the one line a user module that still uses one gets.

Until 2026-12-07 the packages were installed as top-level ``search``, ``spaces``, ``trainables``,
``results``, ``configs`` and ``hpo_errors``; now they are ``hpo.search``, ``hpo.spaces``, ... and
nothing provides the old names (no alias: they would claim generic names in a user's environment
again). A user's trainable module that still imports one fails at import with
``ModuleNotFoundError``; :func:`old_import_problem` turns that into one line naming the file, the
line, and the import to write instead.
"""

from __future__ import annotations

import ast
import importlib.util
import linecache
import os
import sysconfig
from pathlib import Path
from types import TracebackType

__all__ = ["MIGRATION_NOTE", "OLD_NAMES", "old_import_problem", "old_path_problem"]

# The old top-level name -> the module it is now.
OLD_NAMES = {
    "search": "hpo.search",
    "spaces": "hpo.spaces",
    "trainables": "hpo.trainables",
    "results": "hpo.results",
    "configs": "hpo.configs",
    "hpo_errors": "hpo.errors",
}
MIGRATION_NOTE = "docs/how-to/develop.md#from-the-old-import-names"


def old_import_problem(exc: ModuleNotFoundError, module: str) -> str | None:
    """Why importing the user's ``module`` failed, when it failed on an old hpo name; else None.

    Only an import written in the user's own code counts: not the user's module itself missing
    (a module of theirs may well be called ``search``), and not an installed package importing
    some other ``spaces``.

    Returns:
        ``'<file> line <n> imports '<old>', which is now '<new>' (<the import to write>); see <note>'``.
    """
    missing = exc.name or ""
    old = missing.partition(".")[0]
    if old not in OLD_NAMES or module.partition(".")[0] == old:
        return None
    where = _importing_line(exc.__traceback__)
    if where is None:
        return None
    path, line = where
    new = OLD_NAMES[old] + missing[len(old):]
    instead = _rewritten(path, line, old)
    return (f"{_shown(path)} line {line} imports {missing!r}, which is now {new!r}"
            + (f" ({instead})" if instead else "") + f"; see {MIGRATION_NOTE}")


def old_path_problem(exc: ModuleNotFoundError, module: str) -> str | None:
    """Why importing ``module`` failed, when the spec's path itself names an old hpo module
    (``trainable: trainables.training:train_epochs``) that is not the user's own; else None.

    Returns:
        ``"'<old>' is now '<new>' (trainable: <new>:...); see <note>"``.
    """
    old, dot, _ = module.partition(".")
    if old not in OLD_NAMES or not dot or (exc.name or "").partition(".")[0] != old:
        return None  # a module of the user's own called ``search`` is theirs
    new = OLD_NAMES[old] + module[len(old):]
    if importlib.util.find_spec(new) is None:
        return None
    return f"{module!r} is now {new!r} (write trainable: {new}:...); see {MIGRATION_NOTE}"


def _importing_line(tb: TracebackType | None) -> tuple[str, int] | None:
    """The file and line of the innermost ``import`` in the traceback that is not importlib's own, if it
    is the user's (not in the standard library or an installed package)."""
    found = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not filename.startswith("<"):  # "<frozen importlib._bootstrap>"
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    if found is None or _installed(found[0]):
        return None
    return found


def _installed(filename: str) -> bool:
    paths = sysconfig.get_paths()
    roots = [Path(paths[k]).resolve() for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths]
    where = Path(filename).resolve()
    return any(where.is_relative_to(root) for root in roots)


def _shown(filename: str) -> str:
    """The file relative to the working directory when it lies below it (``mylab/train.py``), else as is."""
    where = Path(filename).resolve()
    here = Path(os.getcwd()).resolve()
    return str(where.relative_to(here)) if where.is_relative_to(here) else filename


def _rewritten(filename: str, line: int, old: str) -> str | None:
    """The import statement at ``filename:line`` written with the new name, or None when it cannot be read."""
    try:
        tree = ast.parse("".join(linecache.getlines(filename)))
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom) or not node.lineno <= line <= (node.end_lineno or line):
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and _is(node.module, old):
            return ast.unparse(ast.ImportFrom(module=_new(node.module, old), names=node.names, level=0))
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is(alias.name, old):
                    return ast.unparse(_new_import(alias, old))
    return None


def _is(name: str, old: str) -> bool:
    return name == old or name.startswith(f"{old}.")


def _new(name: str, old: str) -> str:
    return OLD_NAMES[old] + name[len(old):]


def _new_import(alias: ast.alias, old: str) -> ast.stmt:
    """``import spaces`` -> ``from hpo import spaces``; ``import hpo_errors`` -> ``from hpo import errors as
    hpo_errors``; ``import search.engine`` -> ``import hpo.search.engine`` (the dotted name then changes too)."""
    if alias.name != old:
        return ast.Import(names=[ast.alias(name=_new(alias.name, old), asname=alias.asname)])
    package, _, last = OLD_NAMES[old].rpartition(".")
    bound = alias.asname or old
    return ast.ImportFrom(module=package, names=[ast.alias(name=last, asname=None if bound == last else bound)],
                          level=0)
