"""The docs site builds with --strict, its generated reference is whole, and every page's examples
are collected by one of the test_docs_* modules."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from doc_examples import ROOT, blocks, page_names, pages

GROUPS = [("README.md",), ("docs/tutorial/",), ("docs/reference/",), ("docs/index.md", "docs/explanation/")]


def test_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move detail into docs/ (at most 200)"


def test_every_page_is_in_a_test_module_and_in_the_nav() -> None:
    import test_docs_howto
    import test_docs_howto2

    covered = [name for group in GROUPS for name in page_names(*group)]
    covered += test_docs_howto.PAGES + test_docs_howto2.PAGES
    rels = [str(p.relative_to(ROOT)) for p in pages()]
    assert sorted(covered) == sorted(rels)
    nav = (ROOT / "mkdocs.yml").read_text()
    missing = [rel for rel in rels[1:] if rel.removeprefix("docs/") not in nav]
    assert missing == []


def test_every_fence_has_a_language() -> None:
    bare = [b.id for p in pages() for b in blocks(p) if not b.lang]
    assert bare == [], "fences without a language (console, python, yaml, text): " + ", ".join(bare)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.mark.slow(seconds=30)  # the module's `site`: a whole `mkdocs build`
def test_site_builds_strict_offline(site: Path) -> None:
    index = (site / "index.html").read_text()
    assert "fonts.googleapis.com" not in index  # theme.font: false: nothing fetched when opened
    for page in ("tutorial/first-sweep", "reference/spec", "reference/cli", "reference/python-api"):
        assert (site / page / "index.html").is_file(), page


@pytest.mark.slow(seconds=5)
def test_reference_is_generated_from_the_code(site: Path) -> None:
    from hpo.results.store import schema as _schema
    from hpo.search.cli.main import cli
    from hpo.spaces import models

    spec = (site / "reference/spec/index.html").read_text()
    for name in (*models.SweepSpec.model_fields, *(f"scheduler.{k}" for k in models.SchedulerSpec.model_fields)):
        assert f"<code>{name}</code>" in spec, name
    commands = (site / "reference/cli/index.html").read_text()
    for name in cli.commands:
        assert f"hpo {name}" in commands, name
    store = (site / "reference/store/index.html").read_text()
    for table in _schema.metadata.tables.values():
        for column in table.columns:
            assert f"<code>{column.name}</code>" in store, f"{table.name}.{column.name}"
    api = (site / "reference/python-api/index.html").read_text()
    for name in ("run_sweep", "load_spec", "Store", "export_report", "register", "confirm_sweep"):
        assert name in api, name


def test_the_output_check_allows_times_ids_and_ellipses_only() -> None:
    from doc_examples import matches

    shown = ["sweep toy finished: 4 trial(s) (...)", "best trial 54ea0d4b: val_acc=... at iteration 2",
             "  checkpoint: /runs/train_cifar_54ea0d4b/checkpoint_000001", "...", "took 3.2 s"]
    real = ["sweep toy finished: 4 trial(s) (completed 2, stopped early 2)",
            "best trial 9f0c1d2e: val_acc=0.41 at iteration 2",
            "  checkpoint: /runs/train_cifar_9f0c1d2e/checkpoint_000001",
            "logs: /runs", "store: sqlite:///x", "took 12 s"]
    assert matches(shown, real)
    # An id of decimal digits only (about one in 40 is): a run of README.md:58 failed on `best trial 49944665`.
    assert matches(shown, [line.replace("9f0c1d2e", "49944665") for line in real])
    assert not matches(["val_acc=0.41333333"], ["val_acc=0.41444444"])  # a value is no id
    assert not matches(shown, [*real[:1], "best trial 9f0c1d2e: val_acc=0.41 at iteration 3", *real[2:]])
    assert not matches(shown[:3], real)  # lines the page does not show fail, unless a `...` line allows them
    assert not matches(["OK  a.yaml: sweep a, optuna, 6 trials"], ["OK  a.yaml: sweep a, optuna, 7 trials"])


def test_blocks_carry_their_marks_and_indentation(tmp_path: Path) -> None:
    from doc_examples import _commands

    page = tmp_path / "docs" / "_probe.md"  # the test's own folder, never the source tree's docs/
    page.parent.mkdir()
    page.write_text("- item\n\n  <!-- test: file=a.yaml; expect=invalid -->\n  ```yaml\n  name: x\n  ```\n\n"
                    "```console\n$ hpo validate a.yaml \\\n    --set x=1   # exit 2\nbad\n$ ls\n```\n")
    found = blocks(page, root=tmp_path)
    assert [b.page for b in found] == ["docs/_probe.md", "docs/_probe.md"]
    assert [(b.lang, b.marks, b.text) for b in found] == [
        ("yaml", {"file": "a.yaml", "expect": "invalid"}, "name: x\n"),
        ("console", {}, "$ hpo validate a.yaml \\\n    --set x=1   # exit 2\nbad\n$ ls\n")]
    assert _commands(found[1].text) == [("hpo validate a.yaml  --set x=1   # exit 2", ["bad"]), ("ls", [])]
