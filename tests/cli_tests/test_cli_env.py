"""Bad environments are one line and exit 2; read-only commands never write (issue 17)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from harness import run_hpo

from hpo.search.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534

# Run before `hpo`: hides the PostgreSQL drivers the way a base install lacks them (a real ModuleNotFoundError).
_NO_PG = """
import sys
class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("psycopg", "psycopg2"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _Hide())
"""


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.mark.parametrize("command", [["ls"], ["trials", "x"], ["best", "x"], ["report", "x"]])
def test_read_commands_on_an_empty_home_write_nothing(tmp_path: Path, command: list[str]) -> None:
    home = tmp_path / "runs"
    result = CliRunner().invoke(cli, [*command, "--home", str(home)])
    assert result.exit_code == 2, result.output
    assert result.output == (f"hpo {command[0]}: no store at {home}/store.sqlite (run home {home}); "
                             "`hpo sweep` creates one\n")
    assert not home.exists()
    home.mkdir()  # an existing home without a store: still nothing written into it
    result = CliRunner().invoke(cli, [*command, "--home", str(home)])
    assert result.exit_code == 2
    assert _tree(home) == []


def test_ls_on_a_store_url_in_a_missing_folder_creates_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no/dir/x.db"
    result = CliRunner().invoke(cli, ["ls", "--store", url, "--home", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    assert result.output == f"hpo ls: no store at {url}; `hpo sweep` creates one\n"
    assert _tree(tmp_path) == []


def test_sweep_with_a_home_that_cannot_be_created(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sweep", "quickstart", "--home", "/proc/forbidden", "-q"])
    assert result.exit_code == 2, result.output
    assert result.output == "hpo sweep: run home /proc/forbidden: cannot create it (No such file or directory)\n"


def test_postgresql_url_without_a_driver_names_the_extra(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("HPO_STORE", None)
    done = run_hpo("ls", "--store", "postgresql://me:pw@127.0.0.1:9/db", "--home", str(tmp_path / "runs"),
                   env=env, timeout=120, prelude=_NO_PG)
    assert done.returncode == 2, done.stderr
    assert done.stderr == ("hpo ls: store postgresql://me:***@127.0.0.1:9/db: no PostgreSQL driver for "
                           "postgresql:// (No module named 'psycopg'); pip install 'hpo-service[postgres]'\n")
    assert _tree(tmp_path) == []


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder an unprivileged user can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="hpo-perm-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _as_unprivileged(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``hpo ARGS`` as user nobody when we are root (root may write anywhere), else as ourselves."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "HOME": str(cwd), "HPO_OFFLINE": "1"}
    drop = (lambda: (os.setgid(NOBODY), os.setuid(NOBODY))) if os.geteuid() == 0 else None
    return run_hpo(*args, cwd=cwd, env=env, timeout=120, preexec_fn=drop)


def test_sweep_with_a_home_it_may_not_create_or_write(shared_tmp: Path) -> None:
    if os.geteuid() != 0 and os.access("/", os.W_OK):
        pytest.skip("this user may write anywhere; the permission cases need an unprivileged one")
    try:
        _as_unprivileged(["--version"], shared_tmp)
    except PermissionError as exc:
        pytest.skip(f"we run as root (who may write anywhere) and user nobody cannot run this Python: {exc}")
    locked = shared_tmp / "locked"
    locked.mkdir(mode=0o555)
    locked.chmod(0o555)  # mkdir's mode is masked by the umask
    result = _as_unprivileged(["sweep", "quickstart", "--home", str(locked / "runs"), "-q"], shared_tmp)
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"hpo sweep: run home {locked}/runs: cannot create it (Permission denied)\n"
    result = _as_unprivileged(["sweep", "quickstart", "--home", str(locked), "-q"], shared_tmp)
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"hpo sweep: run home {locked}: cannot write to it (Permission denied)\n"
    assert _tree(locked) == []


@pytest.mark.slow
@pytest.mark.integration
def test_run_sweep_from_python_is_quiet_without_verbose(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "sys.path.insert(0, 'tests/search_tests')\n"
        "from conftest import BASE, _merge\n"
        "from hpo.spaces import parse_spec\n"
        "from hpo.search import run_sweep\n"
        "spec = parse_spec(_merge(BASE, {'name': 'pyquiet', 'search': {'num_samples': 2}, 'fixed': {'max_iter': 2},\n"
        "    'scheduler': {'max_t': 2}, 'cluster': {'num_cpus': 1, 'num_gpus': 0}}))\n"
        f"outcome = run_sweep(spec, home={str(tmp_path / 'runs')!r}, progress='none')\n"
        "assert outcome.status == 'finished', outcome\n"
    )
    env = {k: v for k, v in os.environ.items()
           if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "HPO_STORE")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests" / "search_tests")])
    env["HOME"] = str(tmp_path / "new-user")  # a machine that never ran Ray: no token yet
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    assert "Token authentication" not in done.stderr + done.stdout
    assert (done.stdout, done.stderr) == ("", "")
    # hpo made Ray's token before Ray started (atomically: Ray's own write races), and Ray used it.
    # Ours is private; a token Ray had written would carry the umask's 0644.
    token = tmp_path / "new-user" / ".ray" / "auth_token"
    assert re.fullmatch(r"[0-9a-f]{64}", token.read_text()) and stat.S_IMODE(token.stat().st_mode) == 0o600
