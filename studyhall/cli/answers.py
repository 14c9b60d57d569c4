"""Answers in the terminal: one question (``ask``) or a conversation (``chat``)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from generator.answer import AnswerService
from generator.results import Answer
from studyhall.cli.common import USAGE, command, exit_code, fail, services
from studyhall.core.errors import StudyhallError

app = typer.Typer()


def print_sources(answer: Answer, demo_runs) -> None:
    for citation in answer.citations:
        where = " › ".join(citation.hit.chunk.heading_path)
        typer.secho(f"  [{citation.n}] {citation.hit.chunk.location}  ({where})", dim=True)
    for suggestion in answer.suggestions:
        typer.secho(f"  see: {suggestion.title}  ({suggestion.location})", dim=True)
    if answer.demo is not None:
        runs = demo_runs / answer.demo.run_id
        for figure in answer.demo.result.figures:
            typer.secho(f"  figure: {runs / (figure.name + '.png')}  ({figure.title})", dim=True)


def run_answer(service: AnswerService, question: str, course: str, *, session_id: str | None,
               stream: bool, as_json: bool) -> Answer:
    """Answer once, streaming to the terminal or printing JSON; return the Answer."""
    from api.schemas import AnswerOut

    answer = None
    for kind, payload in service.stream(question, course, session_id=session_id):
        if kind == "token" and stream and not as_json:
            typer.echo(payload, nl=False)
        elif kind == "done":
            answer = payload
    if as_json:
        typer.echo(json.dumps(AnswerOut.from_answer(answer).model_dump(mode="json"), indent=2,
                              ensure_ascii=False))
        return answer
    if not stream:
        typer.echo(answer.text, nl=False)
    elif answer.refused and answer.timings.first_token_ms is not None:
        # what streamed was withdrawn: the sources do not support it
        typer.secho("\n(withdrawn: the course sources do not support this answer)",
                    fg=typer.colors.YELLOW)
        typer.echo(answer.text, nl=False)
    typer.echo()
    print_sources(answer, service.demos.store if service.demos else None)
    return answer


@command(app)
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    course: Annotated[str, typer.Option("--course", "-c")],
    session: Annotated[str | None, typer.Option(help="Continue a conversation.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    no_stream: Annotated[bool, typer.Option("--no-stream", help="Print when complete.")] = False,
) -> None:
    """Answer a question from the course, with citations (or say it is not covered)."""
    run_answer(services().answers, question, course, session_id=session,
               stream=not no_stream, as_json=as_json)


@command(app)
def chat(course: Annotated[str, typer.Option("--course", "-c")]) -> None:
    """An interactive conversation: follow-up questions keep their context. Ctrl-D ends."""
    service = services().answers
    session = None
    typer.secho(f"studyhall · {course} · ask a question, Ctrl-D to quit", bold=True)
    while True:
        try:
            question = input("\nyou › ").strip()
        except (EOFError, KeyboardInterrupt):
            typer.echo()
            return
        if not question:
            continue
        try:
            answer = run_answer(service, question, course, session_id=session, stream=True,
                                as_json=False)
            session = answer.session_id
        except StudyhallError as exc:
            if exit_code(exc) != USAGE:
                raise fail(str(exc), exit_code(exc)) from None
            typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)  # ask again
