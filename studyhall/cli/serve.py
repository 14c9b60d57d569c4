"""Serving: the HTTP app (chat page, API, LTI, MCP over HTTP), or MCP over stdio."""

from __future__ import annotations

from typing import Annotated

import typer

from studyhall.cli.common import command, load_settings, services

app = typer.Typer()


@command(app)
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
) -> None:
    """Serve the chat page (/), the HTTP API (/v1), LTI (/lti) and MCP (/mcp)."""
    import uvicorn

    from api.app import create_app

    settings = load_settings()
    if host or port:  # the address given here is the one the app (and MCP's Host check) serves
        settings = settings.model_copy(update={"server": settings.server.model_copy(update={
            "host": host or settings.server.host, "port": port or settings.server.port})})
    uvicorn.run(create_app(settings), host=settings.server.host, port=settings.server.port,
                log_level="info")


@command(app)
def mcp() -> None:
    """Serve search_course, ask_course and the demos to an MCP client over stdio."""
    from api.mcp import build_mcp

    build_mcp(services()).run("stdio")
