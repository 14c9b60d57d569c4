"""Serving: the HTTP app (chat page, API, LTI, MCP over HTTP), or MCP over stdio."""

from __future__ import annotations

from pathlib import Path
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
def worker(
    burst: Annotated[bool, typer.Option(help="Stop when the queue is empty.")] = False,
    name: Annotated[str | None, typer.Option(help="The worker's name (default: random).")] = None,
) -> None:
    """Run ingest and eval jobs from the queue (queue_url), one at a time, until stopped;
    any number of workers, on any machines that share the database and data_dir."""
    from studyhall.core.workers import work

    settings = load_settings()
    if settings.queue_url is None:
        raise typer.BadParameter("set STUDYHALL_QUEUE_URL (and STUDYHALL_DATABASE_URL): "
                                 "without a queue the server runs its jobs itself",
                                 param_hint="queue_url")
    # built now, once: a job left running by a worker that died is marked interrupted
    # before new ones run, and every job this worker takes reuses these services
    from studyhall.services import worker_services

    worker_services(settings)
    work(settings.queue_url, burst=burst, name=name)


@command(app)
def mcp() -> None:
    """Serve search_course, ask_course and the demos to an MCP client over stdio."""
    from api.mcp import build_mcp

    build_mcp(services()).run("stdio")


@command(app)
def warm(
    course: Annotated[str, typer.Option("--course", "-c")],
    dataset: Annotated[Path | None, typer.Option(
        help="Questions whose sources to prepare (default: the course's question set).")] = None,
) -> None:
    """Compute the KV cache of the sources the course's questions retrieve, most shown
    first, within generator.kv_budget_mb, and keep it beside the published version: a
    server with generator.kv_reuse on reads it instead of computing it for the first
    students. Says what it chose and how much space it took."""
    from eval.datasets import default_dataset, load_questions
    from eval.warm import warm_course
    from studyhall.services import build_services

    settings = load_settings()
    settings = settings.model_copy(update={"generator": settings.generator.model_copy(
        update={"kv_reuse": True})})
    answers = build_services(settings).answers
    questions = load_questions(dataset or default_dataset(course), course=course)
    typer.echo(warm_course(answers, course, questions).message())  # UsageError: cannot warm

