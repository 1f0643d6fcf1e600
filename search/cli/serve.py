"""``hpo serve``: the read-only web dashboard over the results store (see ``results.dashboard``)."""

from __future__ import annotations

import click

from hpo.results import Store, StoreError, mask_secrets
from hpo.search.cli._shared import home_option, store_option

__all__ = ["COMMANDS", "serve_command"]


def _open_existing(home: str | None, store_url: str | None) -> Store:
    """The store, read-only (as every reading command opens it: a missing one is an error, never
    created), reached now so an unreachable store is reported before the server starts."""
    store = Store.open(store_url, home=home, create=False)
    store.names()
    return store


@click.command("serve")
@home_option
@store_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but loopback needs --token.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port (0: any free one).")
@click.option("--token", envvar="HPO_SERVE_TOKEN", default=None,
              help="Every request must carry it (?token=T or Authorization: Bearer T). Or $HPO_SERVE_TOKEN.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="Without a token, also answer requests whose Host is NAME (a reverse proxy's name); "
                   "repeatable. Loopback names and --host are always allowed.")
def serve_command(home: str | None, store_url: str | None, host: str, port: int, token: str | None,
                  allow_hosts: tuple[str, ...]) -> None:
    """Serve a live, read-only dashboard of the store's sweeps (Ctrl-C stops it)."""
    from hpo.results.dashboard import ServeError, check_bind, create_app, listen, make_server

    try:
        check_bind(host=host, port=port, token=token)
        store = _open_existing(home, store_url)
        sock = listen(host=host, port=port)
    except (ServeError, StoreError) as exc:
        click.echo(mask_secrets(f"hpo serve: {exc}"), err=True)
        raise click.exceptions.Exit(2) from exc
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    # Its warm-up imports first: the line below means "ready now".
    app = create_app(store, token=token, hosts=(host, *allow_hosts))
    click.echo(f"hpo serve: http://{shown}:{bound_port}/ over {store.url_masked} (read-only; Ctrl-C stops)",
               err=False)
    try:
        make_server(app).run(sockets=[sock])
    finally:
        sock.close()
        store.close()


COMMANDS = [serve_command]
