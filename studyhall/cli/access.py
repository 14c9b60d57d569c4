"""``studyhall course …`` and ``studyhall keys …``: who may read a course, and its API keys.

    studyhall course visibility genai-basics public     # public | lms | private
    studyhall keys create --course genai-basics --scope read --name "course site"
    studyhall keys list
    studyhall keys revoke 3fa2c1d09b7e
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from studyhall.cli.common import command, load_settings, services

course_app = typer.Typer(help="A course's settings: who may read it.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys: scoped to courses, to read or to instruct.",
                       no_args_is_help=True)


def _store():
    from api.access import AccessStore

    settings = load_settings()
    return AccessStore(settings.database, default_visibility=settings.access.default_visibility)


@command(course_app, "visibility")
def visibility(
    course: Annotated[str, typer.Argument(help="The course id.")],
    value: Annotated[str | None, typer.Argument(
        help="public (anyone), lms (an LTI session of the course or a key of it) or private "
             "(its instructors and the admin); leave out to print it.")] = None,
) -> None:
    """Print or set who may read a course."""
    store = _store()
    if value is not None:
        services().search.index(course)  # an unknown course is an error, not a new row
        store.set_visibility(course, value)
    typer.echo(f"{course}: {store.visibility(course)}")


@command(keys_app, "create")
def create(
    course: Annotated[list[str], typer.Option("--course", "-c", help="A course the key "
                                              "reaches (repeatable).")],
    scope: Annotated[str, typer.Option(help="read (search and ask) or instruct (also "
                                       "uploads, evals, keys).")] = "read",
    name: Annotated[str, typer.Option(help="What the key is for.")] = "",
) -> None:
    """Make an API key; it is printed once, and only its hash is kept."""
    catalog = services().search
    for course_id in course:
        catalog.index(course_id)
    made = _store().create_key(name=name, courses=course, scope=scope, created_by="cli")
    typer.echo(made.token)
    typer.secho(f"key {made.key.id} ({made.key.scope}: {', '.join(made.key.courses)}); "
                "this is the only time it is shown", err=True, dim=True)


@command(keys_app, "list")
def list_keys(course: Annotated[str | None, typer.Option("--course", "-c")] = None) -> None:
    """The keys (newest first), with their courses, scope and last use; never the secrets."""
    for key in _store().keys(course):
        used = _when(key.last_used_at) if key.last_used_at else "never used"
        state = f"revoked {_when(key.revoked_at)}" if key.revoked_at else f"last used {used}"
        typer.echo(f"{key.id}  {key.scope:<8} {','.join(key.courses)}  {key.name!r}  "
                   f"made {_when(key.created_at)} by {key.created_by}; {state}")


@command(keys_app, "revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key's id (keys list).")]) -> None:
    """Revoke a key: every later request with it is a 401."""
    key = _store().revoke(key_id)
    typer.echo(f"key {key.id} revoked")


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp)) if stamp else "–"
