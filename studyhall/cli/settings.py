"""``studyhall settings``: the settings in effect, or their documentation table."""

from __future__ import annotations

from typing import Annotated

import typer

from studyhall.cli.common import command, load_settings
from studyhall.core.settings import Settings, markdown_table, setting_fields

app = typer.Typer()


@command(app)
def settings(docs: Annotated[bool, typer.Option(
        "--docs", help="Print the Markdown table of every setting (docs/settings.md).")] = False,
             ) -> None:
    """The settings in effect (from STUDYHALL_* variables), one per line."""
    if docs:
        typer.echo(markdown_table(Settings), nl=False)
        return
    current = load_settings()
    for variable, _, _ in setting_fields(Settings):
        value = current
        for part in variable.removeprefix("STUDYHALL_").lower().split("__"):
            value = getattr(value, part)
        typer.echo(f"{variable}={value}")
