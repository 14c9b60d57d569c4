"""Courses: ingest a folder or a file, list what is ingested, search a course."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from retriever.service import MODES
from studyhall.cli.common import command, services

app = typer.Typer()


@command(app)
def ingest(
    path: Annotated[Path, typer.Argument(help="A course folder, or a single file to add.")],
    course: Annotated[str, typer.Option("--course", "-c", help="Course id, e.g. genai-basics.")],
    title: Annotated[str | None, typer.Option(help="Course title (else course.yaml's).")] = None,
    rebuild: Annotated[
        bool, typer.Option(help="Re-embed everything (needed after changing the embedder).")
    ] = False,
    include: Annotated[list[str] | None, typer.Option(
        help="Read only files matching this glob (repeatable; after course.yaml's).")] = None,
    exclude: Annotated[list[str] | None, typer.Option(
        help="Leave out files matching this glob, e.g. 'assignments/' (repeatable).")] = None,
    verbose: Annotated[bool, typer.Option(
        "--verbose", help="List every skipped and left-out file with its reason.")] = False,
) -> None:
    """Ingest a folder (it becomes the whole course) or one file (added to the course)."""
    report = services().ingestor.ingest(path, course, title=title, rebuild=rebuild,
                                        progress="bar" if sys.stderr.isatty() else "lines",
                                        include=tuple(include or ()), exclude=tuple(exclude or ()))
    for line in report.skipped_lines(verbose=verbose):
        typer.secho(line, err=True, fg=typer.colors.YELLOW)
    typer.echo(report.summary())
    if not report.up_to_date:
        _refit_gate(course)


def _refit_gate(course: str) -> None:
    """A course whose own gate was fitted when it was much smaller or larger gets it
    refitted on the same question set, or a warning when that set is gone."""
    refit = services().refit_gate(course)
    if refit is not None:
        typer.secho(refit.message(course), err=refit.after is None,
                    fg=typer.colors.YELLOW if refit.after is None else None)


@command(app)
def courses(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the ingested courses."""
    from api.schemas import CourseOut

    manifests = services().search.courses()
    if as_json:
        typer.echo(json.dumps([CourseOut.from_manifest(m).model_dump() for m in manifests],
                              indent=2))
        return
    if not manifests:
        typer.echo("no courses yet: studyhall ingest PATH --course ID")
        return
    for m in manifests:
        typer.echo(
            f"{m.course_id:<20} {m.title}  ({len(m.files)} files, {m.chunk_count} chunks, "
            f"{m.embedder} {m.dimension}-d, {m.index_kind}, {m.created_at})"
        )


@command(app)
def search(
    query: Annotated[str, typer.Argument(help="The question.")],
    course: Annotated[str, typer.Option("--course", "-c")],
    k: Annotated[int | None, typer.Option("-k", help="Number of passages.")] = None,
    mode: Annotated[str | None, typer.Option(help=", ".join(MODES) + ".")] = None,
    mmr: Annotated[bool, typer.Option(help="Re-rank for diversity (MMR).")] = False,
    document: Annotated[list[str] | None, typer.Option(help="Only this source file.")] = None,
    lesson: Annotated[list[str] | None, typer.Option(help="Only this lesson.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Find the passages of a course that answer a question."""
    from api.schemas import HitOut

    hits = services().search.search(query, course, k=k, mode=mode, mmr=mmr,
                                    documents=document or (), lessons=lesson or ())
    if as_json:
        typer.echo(json.dumps([HitOut.from_hit(h).model_dump() for h in hits], indent=2,
                              ensure_ascii=False))
        return
    for hit in hits:
        where = " › ".join(hit.chunk.heading_path)
        if hit.chunk.anchor.label != hit.chunk.heading_path[-1]:
            where += f", {hit.chunk.anchor.label}"
        typer.secho(f"[{hit.rank}] {hit.score:.4f}  {hit.chunk.location}  ({where})", bold=True)
        text = " ".join(hit.chunk.text.split())
        typer.echo(f"    {text[:300]}{'…' if len(text) > 300 else ''}")
