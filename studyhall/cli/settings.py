"""``studyhall settings``: the settings in effect, or their documentation table."""

from __future__ import annotations

from typing import Annotated

import typer

from studyhall.cli.common import command, load_settings
from studyhall.core.settings import Settings, setting_fields, settings_page

app = typer.Typer()


@command(app)
def settings(docs: Annotated[bool, typer.Option(
        "--docs", help="Print docs/settings.md, with the table of every setting.")] = False,
             ) -> None:
    """The settings in effect (from STUDYHALL_* variables), one per line."""
    if docs:
        typer.echo(settings_page(), nl=False)
        return
    current = load_settings()
    for variable, _, _ in setting_fields(Settings):
        value = current
        for part in variable.removeprefix("STUDYHALL_").lower().split("__"):
            value = getattr(value, part)
        typer.echo(f"{variable}={value}")
