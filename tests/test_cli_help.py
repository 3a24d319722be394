"""Every command of ``opencall --help`` says what it does: an operator learns the
command line from its help, so a command listed without a line of help is a defect."""

from __future__ import annotations

import click
import typer

from opencall.cli import app as cli_app


def _commands(group: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name, sub in sorted(getattr(group, "commands", {}).items()):
        here = (*path, name)
        out.append((" ".join(here), sub))
        out += _commands(sub, here)
    return out


def test_every_command_has_help_text() -> None:
    commands = _commands(typer.main.get_command(cli_app))
    assert len(commands) > 30
    missing = [name for name, cmd in commands if not (cmd.help or cmd.short_help or "").strip()]
    assert missing == [], f"commands without help text: {missing}"
