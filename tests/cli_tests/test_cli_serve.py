"""``hpo serve``'s bad input: one line on stderr, exit 2, before any server starts."""

from __future__ import annotations

import socket
from pathlib import Path

from click.testing import CliRunner, Result

from hpo.results import Store
from hpo.search.cli.main import cli


def _serve(args: list[str]) -> Result:
    return CliRunner().invoke(cli, ["serve", *args], catch_exceptions=False)


def test_non_loopback_host_without_token_is_refused(tmp_home: Path) -> None:
    result = _serve(["--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert result.output == ("hpo serve: --host 0.0.0.0 is not a loopback address: anyone who can reach it could "
                             "read the store; add --token T (or HPO_SERVE_TOKEN), or bind 127.0.0.1\n")


def test_a_busy_port_is_one_line(tmp_home: Path) -> None:
    Store.open().close()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = _serve(["--port", str(port)])
    assert result.exit_code == 2
    assert result.output == (f"hpo serve: port {port} on 127.0.0.1 is in use; pick another with --port "
                             "(or --port 0 for any free one)\n")


def test_an_unreachable_store_is_one_line_without_the_password(tmp_home: Path) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = _serve(["--store", f"postgresql://hpo:hunter2@127.0.0.1:{port}/hpo"])
    assert result.exit_code == 2
    assert result.output.startswith(f"hpo serve: store postgresql://hpo:***@127.0.0.1:{port}/hpo: ")
    assert "hunter2" not in result.output and result.output.count("\n") == 1


def test_no_store_yet_is_one_line(tmp_home: Path) -> None:
    result = _serve([])
    assert result.exit_code == 2
    assert result.output == (f"hpo serve: no store at {tmp_home / 'store.sqlite'} (run home {tmp_home}); "
                             "`hpo sweep` creates one\n")
    assert not (tmp_home / "store.sqlite").exists()
