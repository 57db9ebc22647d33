"""``tether account``: local accounts, passwords and API tokens through the API server.

``update-password`` takes the passwords from flags or, on a terminal only, from
prompts; ``generate-token`` prints the new token once. Neither ever echoes a password.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tether.cli.output import (
    CommandError,
    Output,
    OutputFormat,
    ServerFlag,
    TokenFlag,
    is_terminal,
    open_client,
    print_objects,
    reporting_errors,
)

API = "/api/v1/account"

app = typer.Typer(name="account", help="Manage accounts.", no_args_is_help=True)


def account_row(account: dict[str, Any], wide: bool) -> dict[str, str]:
    """One ``account list`` row."""
    row = {
        "name": str(account.get("name", "")),
        "enabled": str(bool(account.get("enabled", False))).lower(),
        "capabilities": ",".join(account.get("capabilities") or []),
    }
    if wide:
        row["tokens"] = ",".join(str(t.get("id", "")) for t in account.get("tokens") or [])
    return row


@app.command("list")
def list_command(
    output: Output = OutputFormat.TABLE, server: ServerFlag = "", auth_token: TokenFlag = ""
) -> None:
    """List local accounts."""
    with reporting_errors(), open_client(server, auth_token) as client:
        answer = client.get(API, "list accounts")
    print_objects(answer.get("items") or [], output, account_row, lambda a: str(a["name"]))


def _secret(value: str, prompt: str, what: str, *, confirm: bool = False) -> str:
    if value:
        return value
    if not is_terminal():
        raise CommandError(
            f"failed to update the password: {what} is required "
            "(stdin is not a terminal, so there is no prompt)"
        )
    return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm))


@app.command("update-password")
def update_password_command(
    current_password: Annotated[
        str, typer.Option("--current-password", help="The caller's current password.")
    ] = "",
    new_password: Annotated[str, typer.Option("--new-password", help="The new password.")] = "",
    account: Annotated[
        str, typer.Option("--account", help="Account to change (default: the caller's).")
    ] = "",
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Change an account's password; its earlier sessions stop working."""
    with reporting_errors():
        current = _secret(current_password, "Current password", "--current-password")
        new = _secret(new_password, "New password", "--new-password", confirm=True)
        body = {"currentPassword": current, "newPassword": new, "name": account}
        with open_client(server, auth_token) as client:
            client.put(f"{API}/password", f"update the password of {account or 'the caller'}", body)
    typer.echo("password updated; log in again with tether login")


@app.command("generate-token")
def generate_token_command(
    account: Annotated[
        str, typer.Option("--account", "-a", help="Account name (default: the caller).")
    ] = "",
    expires_in: Annotated[
        int, typer.Option("--expires-in", "-e", help="Lifetime in seconds (0: never).", min=0)
    ] = 0,
    token_id: Annotated[str, typer.Option("--id", help="Token id.")] = "",
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Issue an API token for an account with the apiKey capability and print it once."""
    with reporting_errors(), open_client(server, auth_token) as client:
        if not account:
            who = client.get("/api/v1/session/userinfo", "find the caller's account")
            account = str(who.get("username") or "")
        answer = client.post(
            f"{API}/{account}/token",
            f"generate a token for account {account}",
            {"expiresIn": expires_in, "id": token_id},
        )
    typer.echo(str(answer.get("token", "")))
