"""The from-scratch model demos: list them, run one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from studyhall.cli.common import command, fail, services

app = typer.Typer()


def parse_sets(pairs: list[str]) -> dict:
    """``--set epochs=50 --set gate=xor`` → {"epochs": 50, "gate": "xor"} (numbers parsed)."""
    params = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise fail(f"--set takes key=value, got {pair!r}")
        try:
            params[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            params[key.strip()] = raw
    return params


@command(app)
def demos(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the from-scratch model demos and their parameters."""
    from demos.registry import registry

    tools = registry()
    if as_json:
        typer.echo(json.dumps([{"name": t.name, "description": t.description,
                                "lesson": t.lesson, "parameters": t.schema()}
                               for t in tools.values()], indent=2, ensure_ascii=False))
        return
    for tool in tools.values():
        typer.secho(tool.name, bold=True, nl=False)
        typer.echo(f"  {tool.description}")
        for key, spec in tool.schema()["properties"].items():
            allowed = spec.get("enum") or [spec.get("minimum", spec.get("exclusiveMinimum")),
                                           spec.get("maximum")]
            typer.secho(f"    {key}={spec.get('default')}  {spec.get('description', '')} "
                        f"{allowed}", dim=True)


@command(app)
def demo(
    name: Annotated[str, typer.Argument(help="Which demo; `studyhall demos` lists them.")],
    sets: Annotated[list[str] | None, typer.Option(
        "--set", help="A parameter, key=value (repeatable).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the figures (PNG) here.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Train one of the course's models from scratch and show its numbers and figures."""
    runner = services().demos
    run = runner.run(name, parse_sets(sets or []))
    folder = out or runner.store / run.run_id
    if out:
        out.mkdir(parents=True, exist_ok=True)
        for figure in run.result.figures:
            (out / f"{figure.name}.png").write_bytes(figure.png)
    if as_json:
        kept = run.to_dict()
        for figure in kept["figures"]:
            figure["path"] = str(folder / f"{figure['name']}.png")
        typer.echo(json.dumps(kept, indent=2))
        return
    typer.echo(run.result.explanation)
    for key, value in run.result.metrics.items():
        typer.echo(f"  {key}: {value:.4g}")
    for figure in run.result.figures:
        typer.secho(f"  figure: {folder / (figure.name + '.png')}  ({figure.title})", dim=True)
    typer.secho(f"  {'kept run' if run.cached else 'trained in'} {run.seconds:.1f} s · "
                f"lesson: {run.result.lesson}", dim=True)
