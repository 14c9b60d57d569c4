"""What every command shares: the settings, the services, and errors → exit statuses.

An error a user can fix (an unknown course, k out of range, an empty question) prints one
line naming the problem and exits with status 2; a failure (a missing model, an index
built by another embedder) exits with 1. Nothing prints a traceback for either. Commands
register with :func:`command`, which does this mapping for every one of them.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer

from studyhall.core.errors import Kind, StudyhallError
from studyhall.core.settings import Settings
from studyhall.services import Services, build_services

F = TypeVar("F", bound=Callable)

USAGE = 2  # the user can fix it
FAILURE = 1
EXIT: dict[Kind, int] = {
    "usage": USAGE, "unauthorized": USAGE, "forbidden": USAGE, "not_found": USAGE,
    "too_large": USAGE, "unsupported": USAGE,
    "conflict": FAILURE, "busy": FAILURE, "rate_limited": FAILURE, "unavailable": FAILURE,
    "timeout": FAILURE, "no_space": FAILURE,
    "cancelled": FAILURE, "failed": FAILURE,
}


def fail(message: str, code: int = USAGE) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def exit_code(exc: StudyhallError) -> int:
    return EXIT[exc.kind]


def command(typer_app: typer.Typer, name: str | None = None) -> Callable[[F], F]:
    """Register a command whose studyhall errors (and a missing optional package) end it
    with one ``error:`` line and the exit status of their kind."""

    def register(function: F) -> F:
        @functools.wraps(function)
        def run(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except StudyhallError as exc:
                raise fail(str(exc), exit_code(exc)) from None
            except ImportError as exc:  # an optional extra that is not installed
                raise fail(str(exc), FAILURE) from None

        typer_app.command(name)(run)
        return function

    return register


def load_settings() -> Settings:
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        raise fail(f"invalid settings: {exc}") from None


def services() -> Services:
    return build_services(load_settings())


def report_dir(settings: Settings, out: Path | None, course: str, kind: str) -> Path:
    """Where an eval writes its report: --out, or a new folder under the data directory."""
    if out is not None:
        return out
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return settings.data_dir / "evals" / course / f"{kind}-{stamp}"
