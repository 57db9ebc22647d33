"""``tether login``, ``tether logout`` and ``tether context``: sessions with API servers.

``tether login SERVER`` asks the server for a session token (``POST /api/v1/session``)
and keeps it in the config file (:mod:`tether.cli.contexts`) as a context, which becomes
the current one. The password is prompted for only when stdin is a terminal; otherwise
``--password`` or ``TETHER_PASSWORD`` must give it. ``tether logout [CONTEXT]`` revokes
the token on the server and forgets it; ``tether context [NAME]`` lists the contexts or
switches to one.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from tether.cli.client import ApiClient, ApiError, Connection, normalize_server
from tether.cli.contexts import Context, load_config, save_config
from tether.cli.output import CommandError, is_terminal, print_table, reporting_errors

PASSWORD_ENV = "TETHER_PASSWORD"


def request_session(connection: Connection, username: str, password: str) -> str:
    """A session token for ``username`` from the server of ``connection``."""
    with ApiClient(connection) as client:
        answer = client.post(
            "/api/v1/session",
            f"log in to {connection.server} as {username}",
            {"username": username, "password": password},
        )
    token = answer.get("token") if isinstance(answer, dict) else None
    if not token:
        raise ApiError(f"log in to {connection.server}", "the server answered without a token")
    return str(token)


def configure_local_context(
    server_url: str, username: str, password: str, *, name: str = "local"
) -> Context:
    """Log in to a server just started on this machine and make it the current context.

    For ``tether up``: afterwards every ``tether`` command on this machine talks to it.
    """
    server = normalize_server(server_url, plaintext=True)
    token = request_session(Connection(server), username, password)
    context = Context(name=name, server=server, username=username, auth_token=token)
    save_config(load_config().with_context(context))
    return context


def login_command(
    server: Annotated[str, typer.Argument(help="The API server, e.g. localhost:8080.")],
    username: Annotated[str, typer.Option("--username", help="Account name.")] = "admin",
    password: Annotated[
        str, typer.Option("--password", help="Password (default: TETHER_PASSWORD or a prompt).")
    ] = "",
    name: Annotated[str, typer.Option("--name", help="Context name (default: the server).")] = "",
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Do not verify the server's TLS certificate.")
    ] = False,
    plaintext: Annotated[
        bool, typer.Option("--plaintext", help="Use http:// for a server given without one.")
    ] = False,
    sso: Annotated[bool, typer.Option("--sso", help="Single sign-on (not supported).")] = False,
) -> None:
    """Log in to SERVER and make it the current context."""
    with reporting_errors():
        if sso:
            raise CommandError("failed to log in: single sign-on is not supported")
        url = normalize_server(server, plaintext=plaintext)
        password = password or os.environ.get(PASSWORD_ENV, "")
        if not password:
            if not is_terminal():
                raise CommandError(
                    "failed to log in: no password; pass --password or set TETHER_PASSWORD "
                    "(stdin is not a terminal, so there is no prompt)"
                )
            password = typer.prompt("Password", hide_input=True)
        token = request_session(Connection(url, insecure=insecure), username, password)
        context_name = name or url.split("://", 1)[1]
        context = Context(context_name, url, username, token, insecure)
        path = save_config(load_config().with_context(context))
    typer.echo(f"'{username}' logged in to {url}; context '{context_name}' saved in {path}")


def logout_command(
    context: Annotated[str, typer.Argument(help="Context (default: the current one).")] = "",
) -> None:
    """Revoke the context's session on its server and forget the token."""
    with reporting_errors():
        config = load_config()
        chosen = config.find(context) if context else config.current_context()
        if chosen is None:
            raise CommandError(f"failed to log out: no context {context or '(current)'}")
        if chosen.auth_token:
            connection = Connection(chosen.server, chosen.auth_token, chosen.insecure)
            with ApiClient(connection) as client:
                try:
                    client.delete("/api/v1/session", f"log out of {chosen.server}")
                except ApiError as error:
                    # An expired or already revoked token is as good as logged out.
                    if error.status != 401:
                        raise
        save_config(config.with_context(Context(chosen.name, chosen.server), make_current=False))
    typer.echo(f"logged out of '{chosen.name}'")


def context_command(
    name: Annotated[str, typer.Argument(help="Switch to this context.")] = "",
    delete: Annotated[bool, typer.Option("--delete", help="Remove context NAME.")] = False,
) -> None:
    """List the contexts, switch to NAME, or remove it with --delete."""
    with reporting_errors():
        config = load_config()
        if name and delete:
            if config.find(name) is None:
                raise CommandError(f"failed to delete context {name}: no such context")
            save_config(config.without_context(name))
            typer.echo(f"context '{name}' deleted")
            return
        if delete:
            raise CommandError("failed to delete a context: name one")
        if name:
            save_config(config.switched_to(name))
            typer.echo(f"switched to context '{name}'")
            return
    rows = [
        ["*" if c.name == config.current else "", c.name, c.server, c.username]
        for c in config.contexts
    ]
    print_table(["current", "name", "server", "user"], rows)
