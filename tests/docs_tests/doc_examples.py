"""Run the examples of the README and the docs site: every `console`, `python` and `yaml` block.

A page's blocks run in order in one working folder (the page's *workspace*), so a block can use
what an earlier one wrote or defined. What each kind of fenced block means:

* ``console``: a shell session. ``$ CMD`` lines are run (a line ending in ``\\`` continues); the lines
  after a command, up to the next ``$``, are its expected output, compared after normalising (see
  :func:`matches`); no lines: only the exit status is checked. It must be 0 unless the command ends
  with ``# exit N``. ``hpo ...`` commands run in this process through click (they share the test
  session's Ray); anything else runs in ``bash`` with the venv's ``bin`` first on ``PATH``.
* ``python``: executed; the page's blocks share one namespace.
* ``yaml``: a spec. One with ``name`` and ``trainable`` is loaded as it is; a fragment (a few
  sections) is merged over a minimal spec and checked, so a fragment that drifts from the spec
  language fails too.
* anything else (``text``, no language): not an example (a usage line, a sample of output).

A comment on the line before a fence steers the block: ``<!-- test: file=PATH -->`` writes it to
PATH in the workspace (then a ``yaml`` block is checked as a spec file and a ``python`` one is
compiled, not run; ``; expect=invalid`` after it: a spec shown for its errors, which must fail to
load), ``<!-- test: skip=REASON -->`` skips it, saying why, ``<!-- test: needs=cluster -->``
leaves it to the cluster tests (``tests/search_tests/test_submit.py`` runs it on a two-node
cluster), ``<!-- test: cwd=repo -->`` runs a
``console`` block in the repository's root (``bench/...`` commands), ``<!-- test: yaml -->`` checks only that
a ``yaml`` block parses (it is not a spec).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SHOWN_HOME = "/home/me/demo"  # the docs' outputs show the workspace as this folder
EXECUTED = {"console", "python", "yaml"}
MINIMAL_SPEC = {"name": "doc", "trainable": "cifar", "metric": "val_acc", "mode": "max",
                "params": {"lr": {"type": "float", "low": 0.001, "high": 0.1, "log": True}}}

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")
_MARK = re.compile(r"^\s*<!--\s*test:\s*(?P<body>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    page: str  # relative to the repository root
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    marks: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    """README.md and every page of the docs site (not the generators' folder)."""
    docs = sorted(p for p in (ROOT / "docs").rglob("*.md") if "_gen" not in p.parts)
    return [ROOT / "README.md", *docs]


def page_names(*prefixes: str) -> list[str]:
    """The pages (relative paths) that are, or lie under, the prefixes given."""
    rels = [str(p.relative_to(ROOT)) for p in pages()]
    return [rel for rel in rels if any(rel == pre or (pre.endswith("/") and rel.startswith(pre)) for pre in prefixes)]


def _marks(body: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in body.split(";"):
        key, _, value = part.strip().partition("=")
        if key:
            out[key.strip()] = value.strip()
    return out


def blocks(path: Path, *, root: Path = ROOT) -> list[Block]:
    """The fenced blocks of one Markdown file, dedented, with the marks on the line before each; each
    block's page named relative to ``root`` (the repository's, or a test's own folder)."""
    lines = path.read_text().splitlines()
    rel = str(path.relative_to(root))
    out: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        mark = _MARK.match(lines[k]) if k >= 0 else None
        out.append(Block(rel, i + 1, opening["lang"].lower(), "\n".join(body) + "\n",
                         _marks(mark["body"]) if mark else {}))
        i = j + 1
    return out


def examples(names: list[str]) -> list[Any]:
    """pytest params for the executed blocks of the pages named (relative paths), in page order."""
    params = []
    for path in pages():
        rel = str(path.relative_to(ROOT))
        if rel not in names:
            continue
        for block in blocks(path):
            if block.lang not in EXECUTED:
                continue
            marks = []
            if block.lang != "yaml" or "file" in block.marks:
                marks.append(pytest.mark.integration)
            params.append(pytest.param(block, id=block.id, marks=marks))
    return params


# --- matching shown output against real output ------------------------------------------------

_NORMALISE = [
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"), "<time>"),
    (re.compile(r"\b\d{8}-\d{6}\b"), "<time>"),
    # trial ids, also inside names like train_cifar_<id>: Optuna's and HyperOpt's (8 hex digits, now
    # and then all of them decimal: 2% of ids), then Ray's own; not the digits after a decimal point
    (re.compile(r"(?<![0-9A-Za-z.])[0-9a-f]{8}(?![0-9A-Za-z])"), "<id>"),
    (re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{5}_\d{5}(?![0-9A-Za-z])"), "<id>"),
    (re.compile(r"\b\d+(\.\d+)? ?(s|ms|min)\b"), "<dur>"),
]


def normalise(line: str) -> str:
    line = line.rstrip()
    for pattern, repl in _NORMALISE:
        line = pattern.sub(repl, line)
    return line


def _line_matches(expected: str, actual: str) -> bool:
    if "..." not in expected:
        return expected == actual
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, actual) is not None


def matches(expected: list[str], actual: list[str]) -> bool:
    """Do the shown lines match the real ones? Both are normalised first (times, dates, trial ids
    and durations); ``...`` inside a line matches any text, and a line that is only ``...`` any
    number of lines."""
    exp = [normalise(x) for x in expected]
    act = [normalise(x) for x in actual]

    def walk(i: int, j: int) -> bool:
        if i == len(exp):
            return j == len(act)
        if exp[i].strip() == "...":
            return any(walk(i + 1, k) for k in range(j, len(act) + 1))
        return j < len(act) and _line_matches(exp[i], act[j]) and walk(i + 1, j + 1)

    return walk(0, 0)


# --- running a page's blocks ---------------------------------------------------------------------

@dataclass
class Workspace:
    folder: Path
    # Not an importable module name, so Ray pickles the page's functions by value.
    namespace: dict[str, Any] = field(default_factory=lambda: {"__name__": "__doc_example__"})
    failed: str | None = None  # the first block of the page that failed: later ones are skipped


def _commands(text: str) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) of a console block."""
    out: list[tuple[str, list[str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            raise AssertionError(f"console block: output before the first command: {lines[i]!r}")
        cmd = lines[i][2:]
        while cmd.endswith("\\") and i + 1 < len(lines):
            i += 1
            cmd = cmd[:-1] + " " + lines[i].strip()
        i += 1
        shown: list[str] = []
        while i < len(lines) and not lines[i].startswith("$ "):
            shown.append(lines[i])
            i += 1
        out.append((cmd, shown))
    return out


def _expected_exit(cmd: str) -> int:
    found = re.search(r"#\s*exit (\d+)\s*$", cmd)
    return int(found.group(1)) if found else 0


def _in_process(cmd: str) -> bool:
    return cmd.startswith("hpo ") and not re.search(r"[|><;&`]|\$\(", cmd.split("#", 1)[0])


def run_command(cmd: str, ws: Workspace, *, cwd: Path | None = None) -> tuple[int, str]:
    """Run one shell command of a page in its workspace (or ``cwd``): (exit status, what the terminal shows)."""
    if _in_process(cmd) and cwd is None:
        from click.testing import CliRunner

        from hpo.search.cli.main import cli

        result = CliRunner().invoke(cli, shlex.split(cmd, comments=True)[1:], prog_name="hpo")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            import traceback

            raise AssertionError(f"$ {cmd}\n{result.output}"
                                 + "".join(traceback.format_exception(result.exception)))
        return result.exit_code, result.output
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(["bash", "-c", cmd], cwd=cwd or ws.folder, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def _check_console(block: Block, ws: Workspace) -> None:
    cwd = ROOT if block.marks.get("cwd") == "repo" else None
    for cmd, shown in _commands(block.text):
        code, output = run_command(cmd, ws, cwd=cwd)
        output = output.replace(str(ws.folder), SHOWN_HOME)
        want = _expected_exit(cmd)
        assert code == want, f"{block.id}: `$ {cmd}` exited {code}, the page says {want}:\n{output}"
        if shown:
            assert matches(shown, output.splitlines()), (
                f"{block.id}: `$ {cmd}` printed what the page does not show.\n--- shown:\n"
                + "\n".join(shown) + "\n--- printed:\n" + output)


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) \
            else value
    return out


def _check_yaml(block: Block, ws: Workspace) -> None:
    from hpo.spaces import load_spec

    data = yaml.safe_load(block.text)
    if "yaml" in block.marks:
        return
    assert isinstance(data, dict), f"{block.id}: a yaml example that is not a mapping"
    if "file" in block.marks:
        if block.marks.get("expect") == "invalid":  # a spec shown for its errors: it must have some
            from hpo.spaces import SpecError

            with pytest.raises(SpecError):
                load_spec(str(ws.folder / block.marks["file"]))
            return
        load_spec(str(ws.folder / block.marks["file"]))
        return
    # A fragment is merged over a minimal spec; its params, if any, replace the minimal spec's.
    base = {k: v for k, v in MINIMAL_SPEC.items() if not (k == "params" and "params" in data)}
    spec = data if {"name", "trainable"} <= data.keys() else _deep_merge(base, data)
    if "metrics" in data:
        spec = {k: v for k, v in spec.items() if k not in ("metric", "mode")}
    path = ws.folder / f"_example_{block.line}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    load_spec(str(path))


def run_block(block: Block, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run one block in its page's workspace (cwd, import path and a run home of its own)."""
    if "skip" in block.marks:
        pytest.skip(f"{block.id}: {block.marks['skip']}")
    if block.marks.get("needs") == "cluster":
        pytest.skip(f"{block.id}: needs a Ray cluster: tests/search_tests/test_submit.py runs it on its two nodes")
    if ws.failed:
        pytest.skip(f"an earlier example of the page failed: {ws.failed}")
    monkeypatch.chdir(ws.folder)
    monkeypatch.syspath_prepend(str(ws.folder))
    for var in ("HPO_HOME", "HPO_STORE", "HPO_STORAGE", "RAY_ADDRESS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    ws.failed = block.id
    if "file" in block.marks:
        target = ws.folder / block.marks["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.text)
        if block.lang == "python":
            compile(block.text, str(target), "exec")
    if block.lang == "console":
        _check_console(block, ws)
    elif block.lang == "python" and "file" not in block.marks:
        exec(compile(block.text, block.id, "exec"), ws.namespace)  # the page's own example
    elif block.lang == "yaml":
        _check_yaml(block, ws)
    _forget_workspace_modules(ws.folder)
    ws.failed = None


def _forget_workspace_modules(folder: Path) -> None:
    """Unload modules imported from the workspace, so another page may use the same names."""
    for name, module in list(sys.modules.items()):
        # a namespace package (a folder without __init__.py) has no file, only search locations
        paths = [getattr(module, "__file__", None) or ""]
        spec = getattr(module, "__spec__", None)
        locations = getattr(spec, "submodule_search_locations", None)
        if isinstance(locations, Iterable) and not isinstance(locations, str):
            paths += [str(p) for p in locations]
        if any(str(path).startswith(str(folder)) for path in paths):
            del sys.modules[name]
