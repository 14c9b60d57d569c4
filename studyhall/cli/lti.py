"""``studyhall lti …``: register the LMS platforms that may launch studyhall."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from studyhall.cli.common import command, fail, load_settings

app = typer.Typer(help="Register LMS platforms for LTI 1.3 launches.", no_args_is_help=True)


@command(app, "add-platform")
def add_platform(
    issuer: Annotated[str, typer.Option(help="The platform's issuer (iss), e.g. its URL.")],
    client_id: Annotated[str, typer.Option(help="The client id the platform gave studyhall.")],
    deployment_id: Annotated[list[str], typer.Option(help="A deployment id (repeatable).")],
    auth_login_url: Annotated[str, typer.Option(help="The platform's OIDC auth endpoint.")],
    jwks_url: Annotated[str, typer.Option(help="The platform's public keys (JWKS).")],
    auth_token_url: Annotated[str | None, typer.Option(help="OAuth2 token endpoint.")] = None,
    course: Annotated[list[str] | None, typer.Option(
        help="CONTEXT_ID=COURSE: the LMS course (context id) that opens a studyhall course "
             "(repeatable).")] = None,
    default_course: Annotated[str | None, typer.Option(
        help="The studyhall course for any other LMS course (opened as a student).")] = None,
    page_origin: Annotated[list[str] | None, typer.Option(
        help="An origin of the platform's course pages, which may frame the launched pages, "
             "e.g. https://school.instructure.com (repeatable; default: the auth endpoint's "
             "origin).")] = None,
) -> None:
    """Register (or replace) a platform: Canvas, Moodle or any LTI 1.3 LMS."""
    from pydantic import ValidationError

    from api.lti import add_platform

    mapping = {}
    for pair in course or []:
        context, sep, course_id = pair.partition("=")
        if not sep:
            raise fail(f"--course takes CONTEXT_ID=COURSE, got {pair!r}")
        mapping[context] = course_id
    try:
        platform = add_platform(load_settings().database, issuer=issuer, client_id=client_id,
                                deployment_ids=deployment_id, auth_login_url=auth_login_url,
                                jwks_url=jwks_url, auth_token_url=auth_token_url,
                                context_courses=mapping, default_course=default_course,
                                page_origins=page_origin)
    except (ValidationError, ValueError) as exc:  # the platform record's own validation
        raise fail(str(exc)) from None
    typer.echo(f"platform {platform.issuer} (client {platform.client_id}) registered")


@command(app, "load")
def load(path: Annotated[Path, typer.Argument(help="A .json or .toml platforms file.")]) -> None:
    """Register every platform in a file."""
    from pydantic import ValidationError

    from api.lti import PlatformRegistry, load_platforms_file

    try:
        platforms = load_platforms_file(path)
    except (ValidationError, ValueError, OSError) as exc:
        raise fail(str(exc)) from None
    registry = PlatformRegistry(load_settings().database)
    for platform in platforms:
        registry.add(platform)
    typer.echo(f"{len(platforms)} platform(s) registered from {path}")


@command(app, "list")
def list_platforms() -> None:
    """The registered platforms."""
    from api.lti import PlatformRegistry

    for platform in PlatformRegistry(load_settings().database).list():
        typer.echo(f"{platform.issuer}  client={platform.client_id}  "
                   f"deployments={','.join(platform.deployment_ids)}")
