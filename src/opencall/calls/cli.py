"""``opencall providers`` and ``opencall roles``: an operator sets up a provider
and gives people roles from the shell (the same services as the pages and API).

Wired into the top-level command line by ``opencall.cli``; ``ctx.obj`` carries
the settings and the session factory.
"""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.db import unit_of_work
from opencall.errors import DomainError
from opencall.facilities import services as fac_services
from opencall.facilities.models import Provider
from opencall.facilities.queries import provider_by_slug
from opencall.people import queries as people_queries
from opencall.people import services as people_services
from opencall.people.models import RoleGrant

# soft_wrap: a message is one line off a terminal too (a journal, a script, grep);
# rich cut every line at 80 columns there, paths and addresses included (trialop18)
console = Console(soft_wrap=True)
providers_app = typer.Typer(
    help="Providers (the organisations that run calls).", no_args_is_help=True
)
roles_app = typer.Typer(help="Roles of people at a provider or a call.", no_args_is_help=True)


def _link(url: str) -> None:
    """A link the operator copies: whole on its own line, never wrapped."""
    console.print(url, soft_wrap=True, highlight=False, markup=False)


def _fail(message: str) -> NoReturn:
    console.print(f"[red]Error:[/red] {message}")
    raise typer.Exit(2)


def _invitation_link(c: Any, raw: str) -> str:
    """Where a person without an account accepts the role invitation of token ``raw``
    (the page of ``calls.people_views``), on this site."""
    return f"{c.settings.base_url.rstrip('/')}/roles/invitations/{raw}"


@providers_app.command("create")
def providers_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="The provider's name.")],
    slug: Annotated[str, typer.Option(help="Short name in addresses (a-z, 0-9, -).")],
    country: Annotated[str, typer.Option(help="ISO 3166 alpha-3 code of its seat.")],
    admin: Annotated[
        str | None, typer.Option(help="E-mail of its first administrator (invited if new).")
    ] = None,
) -> None:
    """Create a provider, optionally with its first administrator."""
    c: Any = ctx.obj
    try:
        with unit_of_work(c.factory) as s:
            p = fac_services.create_provider(s, name=name, slug=slug, country_iso3=country.upper())
            raw = None
            if admin:
                _g, _inv, raw = people_services.invite_to_role(
                    s, email=admin, role="provider_admin", provider_id=p.id
                )
    except DomainError as exc:
        _fail(exc.message)
    console.print(f"provider [bold]{slug}[/bold] created")
    if raw:
        console.print(f"{admin} has no account yet; send them this invitation:")
        _link(_invitation_link(c, raw))


@providers_app.command("list")
def providers_list(ctx: typer.Context) -> None:
    """Every provider."""
    c: Any = ctx.obj
    t = Table("slug", "name", "country")
    with c.factory() as s:
        for p in s.scalars(select(Provider).order_by(Provider.slug)):
            t.add_row(p.slug, p.name, p.country_iso3)
    console.print(t)


def _provider(s: Session, slug: str) -> Provider:
    p = provider_by_slug(s, slug)
    if p is None:
        _fail(f"No provider {slug!r}.")
    return p


@roles_app.command("grant")
def roles_grant(
    ctx: typer.Context,
    provider: Annotated[str, typer.Option(help="The provider's short name.")],
    email: Annotated[str, typer.Option(help="The person's e-mail address.")],
    role: Annotated[
        str, typer.Option(help="provider_admin, call_manager, chair, reviewer, technical_reviewer")
    ],
    call: Annotated[str | None, typer.Option(help="Only for this call (its slug).")] = None,
) -> None:
    """Give a role; a person without an account gets an invitation link."""
    c: Any = ctx.obj
    try:
        with unit_of_work(c.factory) as s:
            p = _provider(s, provider)
            call_id = None
            if call:
                row = s.scalar(select(Call).where(Call.slug == call, Call.provider_id == p.id))
                if row is None:
                    _fail(f"{provider!r} has no call {call!r}.")
                call_id = row.id
            g, _inv, raw = people_services.invite_to_role(
                s,
                email=email,
                role=role,
                provider_id=None if call_id else p.id,
                call_id=call_id,
            )
    except DomainError as exc:
        _fail(exc.message)
    if raw:
        console.print(f"{email} has no account yet; send them this invitation (valid 14 days):")
        _link(_invitation_link(c, raw))
    else:
        console.print(f"{email}: {role} granted")


def _whole(table: Table) -> None:
    """``table`` as wide as its cells: never 'head@cryo.exa…' (piped or logged, the console
    is 80 columns wide; the operator reads and copies the addresses)."""
    natural = console.measure(table, options=console.options.update_width(1000)).maximum
    narrow = console.width
    console.width = max(narrow, natural)  # print(width=...) would not go past it
    try:
        console.print(table)
    finally:
        console.width = narrow


@roles_app.command("list")
def roles_list(
    ctx: typer.Context,
    provider: Annotated[str, typer.Option(help="The provider's short name.")],
) -> None:
    """Roles on a provider and its calls, and pending invitations."""
    c: Any = ctx.obj
    with c.factory() as s:
        p = _provider(s, provider)
        calls = {cl.id: cl.slug for cl in s.scalars(select(Call).where(Call.provider_id == p.id))}
        t = Table("id", "role", "name", "e-mail", "call")
        for g, u in people_queries.grants_in_scope(s, p.id, list(calls)):
            t.add_row(str(g.id), g.role, u.name, u.email, calls.get(g.call_id or 0, "(all)"))
        _whole(t)
        pend = people_queries.pending_invitations_in_scope(s, p.id, list(calls))
        if pend:
            t = Table("invitation", "role", "e-mail", "call", "valid until")
            for i in pend:
                t.add_row(
                    str(i.id),
                    i.role,
                    i.email,
                    calls.get(i.call_id or 0, "(all)"),
                    i.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
                )
            _whole(t)


@roles_app.command("revoke")
def roles_revoke(
    ctx: typer.Context,
    provider: Annotated[str, typer.Option(help="The provider's short name.")],
    grant_id: Annotated[int, typer.Argument(help="The id shown by 'roles list'.")],
) -> None:
    """Take a role back."""
    c: Any = ctx.obj
    try:
        with unit_of_work(c.factory) as s:
            p = _provider(s, provider)
            g = s.get(RoleGrant, grant_id)
            calls = set(s.scalars(select(Call.id).where(Call.provider_id == p.id)))
            if g is None or not (g.provider_id == p.id or g.call_id in calls):
                _fail(f"No role {grant_id} at {provider!r}.")
            call_services.revoke_role(s, g)
    except DomainError as exc:
        _fail(exc.message)
    console.print(f"role {grant_id} revoked")
