"""``opencall admin``: the first site administrator of a fresh install.

Wired into the top-level command line by ``opencall.cli``; ``ctx.obj`` carries
the settings and the session factory.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from opencall.db import unit_of_work
from opencall.errors import DomainError
from opencall.people import queries, services

# soft_wrap: a message is one line off a terminal too (a journal, a script, grep);
# rich cut every line at 80 columns there, paths and addresses included (trialop18)
console = Console(soft_wrap=True)
admin_app = typer.Typer(help="Site administrators.", no_args_is_help=True)


def _password() -> str:
    """The password: asked twice, hidden, at a terminal; piped (not a terminal), its first
    line, read as it is, with no prompt and none of getpass's warnings that it cannot hide
    what it reads (a second line, if any, must repeat it)."""
    if sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    line, again = (sys.stdin.readline().removesuffix("\n").removesuffix("\r") for _ in "12")
    if not line:
        console.print("[red]Error:[/red] no password on the standard input (one line).")
        raise typer.Exit(2)
    if again and again != line:  # a second line is its confirmation (as at a terminal)
        console.print("[red]Error:[/red] the two passwords piped in differ.")
        raise typer.Exit(2)
    return line


@admin_app.command("create")
def create(
    ctx: typer.Context,
    email: Annotated[str, typer.Option(help="The administrator's e-mail address.")],
    name: Annotated[str, typer.Option(help="Full name.")],
    country: Annotated[str | None, typer.Option(help="ISO 3166 alpha-3 code, e.g. KEN.")] = None,
    link: Annotated[
        bool,
        typer.Option(
            "--link",
            help="Print a link to choose the password instead of asking for it here.",
        ),
    ] = False,
) -> None:
    """Create the site administrator (or make an existing account one).

    Asks for the password (twice, hidden) unless ``--link`` is given, in which
    case it prints a one-time link, valid three days, where the person chooses it.
    A password piped in (no terminal) is read from the first line of the input.
    """
    c: Any = ctx.obj
    password = None
    if not link:
        password = _password()
    try:
        with unit_of_work(c.factory) as s:
            user, raw = services.create_site_admin(
                s,
                email=email,
                name=name,
                country_iso3=country.upper() if country else None,
                password=password,
            )
            uid = user.id
    except DomainError as exc:
        console.print(f"[red]Error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    console.print(f"site administrator [bold]{email}[/bold] (user {uid})")
    if raw:
        console.print("Choose the password here (valid 3 days):")
        # whole on its own line, never wrapped: the operator copies it
        console.print(
            f"{c.settings.base_url}/password/reset/{raw}",
            soft_wrap=True,
            highlight=False,
            markup=False,
        )


@admin_app.command("aliases")
def aliases(ctx: typer.Context) -> None:
    """List the accounts that share one mailbox ("pi@" and "pi+2@", "p.i@gmail.com" and
    "pi@googlemail.com", "pi-2@yahoo.com"), made before registration refused them.

    One block a mailbox: each account's id, address, whether verified, when made. The
    allocation counts them as one PI for the caps per PI and the conflicts step as one
    person on a team; nothing is merged (read only)."""
    c: Any = ctx.obj
    with c.factory() as s:
        groups = queries.alias_groups(s)
        for group in groups:
            console.print(f"mailbox of {group[0].email}", highlight=False, markup=False)
            for u in group:
                verified = "verified" if u.email_verified_at else "not verified"
                line = f"  user {u.id}  {u.email}  {verified}  made {u.created_at:%Y-%m-%d}"
                console.print(line, highlight=False, markup=False)
    console.print(f"{len(groups)} mailboxes with more than one account")
