"""``studyhall eval …``: measure a course's retrieval, gate and answers on its question set
(the instructor's ``evals/<course>/questions.jsonl`` in the data directory, else the
bundled set), draft a question set, and the peer baseline and chat routing evals."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from studyhall.cli.common import command, fail, load_settings, report_dir, services
from studyhall.core.errors import UsageError

app = typer.Typer(help="Measure retrieval, the gate and answers on a labelled question set.",
                  no_args_is_help=True)

DatasetOption = Annotated[Path | None, typer.Option(
    help="JSONL question set (default: the course's own, else the bundled one).")]
OutOption = Annotated[Path | None, typer.Option(
    help="Report folder (JSON, Markdown, HTML); default: under the data directory.")]
LimitOption = Annotated[int | None, typer.Option(help="Only the first N questions.")]


def _questions(dataset: Path | None, course: str, limit: int | None = None):
    from eval.datasets import course_dataset, load_questions

    path = dataset or course_dataset(load_settings().data_dir, course)
    return load_questions(path, course=course)[:limit]


def _progress(total: int, unit: str):
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, disable=not sys.stderr.isatty())


@command(app, "retrieval")
def retrieval(
    course: Annotated[str, typer.Option("--course", "-c")],
    dataset: DatasetOption = None,
    configs: Annotated[str | None, typer.Option(
        "--configs", "--modes",
        help="Comma-separated retrieval configurations to compare, MODE or MODE+mmr "
             "(default: bm25,dense,hybrid,hybrid+mmr).")] = None,
    k: Annotated[int, typer.Option("-k", help="Depth for recall, MRR and nDCG.")] = 10,
    chunks: Annotated[str | None, typer.Option(
        help="Also compare chunk sizes, SIZE/OVERLAP in word-pieces, e.g. 96/16,128/24: the "
             "course folder (--source) is ingested once per size into a scratch index.")] = None,
    source: Annotated[Path | None, typer.Option(help="The course folder, for --chunks.")] = None,
    out: OutOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """hit@k, recall@k, MRR@10 and nDCG@10 of each retrieval configuration on a labelled
    question set, with a report listing every miss."""
    from eval.report import write_retrieval_report
    from eval.retrieval import (
        COMPARED,
        evaluate_retrieval,
        format_table,
        parse_chunk_size,
        sweep_chunk_sizes,
    )
    from retriever.service import RetrievalConfig

    search = services().search
    questions = _questions(dataset, course)
    specs = [s for s in configs.split(",") if s.strip()] if configs else list(COMPARED)
    parsed = [RetrievalConfig.parse(spec) for spec in specs]
    results = []
    with _progress(len(parsed), "config") as bar:
        for config in parsed:
            results.append(evaluate_retrieval(search, questions, course, config, depth=k))
            bar.update(1)
    if chunks:
        if source is None or not source.is_dir():
            raise fail("--chunks needs --source, the course folder")
        sizes = [parse_chunk_size(spec) for spec in chunks.split(",")]
        results += sweep_chunk_sizes(search.settings, search.embedder, source, course,
                                     questions, sizes, parsed)
    paths = write_retrieval_report(results, report_dir(search.settings, out, course,
                                                       "retrieval"), title=course)
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        typer.echo(format_table(results))
        typer.secho(f"report: {paths['html']}", dim=True, err=True)


@command(app, "gate")
def gate(course: Annotated[str, typer.Option("--course", "-c")],
         dataset: DatasetOption = None,
         fit: Annotated[bool, typer.Option(
             "--fit", help="Fit the course's own thresholds to this set and keep them.")] = False,
         clear: Annotated[bool, typer.Option(
             "--clear", help="Forget the course's own thresholds (the settings apply).")] = False,
         ) -> None:
    """How the "not covered" threshold splits answerable from out-of-course questions; with
    --fit, the course's own thresholds, fitted to its question set and used from then on."""
    from eval.gate import calibrate, fit_course_gate, format_fit, format_gate
    from generator.gate import clear_fit, load_fit, save_fit

    search = services().search
    course_dir = search.catalog.course_dir(course)
    if clear:
        clear_fit(course_dir)
        typer.echo(f"course {course!r}: the settings' thresholds apply")
        return
    questions = _questions(dataset, course)
    if fit:
        try:
            fitted = fit_course_gate(search, questions, course, load_settings().answer,
                                     dataset=str(dataset or ""))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        save_fit(course_dir, fitted)
        typer.echo(f"course {course!r}: " + format_fit(fitted))
    elif (kept := load_fit(course_dir)) is not None:
        typer.echo(f"course {course!r} has its own gate, " + format_fit(kept))
    rows = calibrate(search, questions, course, [0.30, 0.35, 0.38, 0.40, 0.42, 0.45, 0.50])
    typer.echo(format_gate(rows))


@command(app, "answers")
def answers(
    course: Annotated[str, typer.Option("--course", "-c")],
    dataset: DatasetOption = None,
    limit: LimitOption = None,
    out: OutOption = None,
) -> None:
    """Answer every question with the configured model and score the answers: correct with
    a correct citation, over-refusal, refusal of out-of-course questions, faithfulness,
    latency; the report lists every failure. ``STUDYHALL_ANSWER__PROMPT`` picks the prompt
    layout to measure."""
    from eval.answers import evaluate_answers
    from eval.report import write_answer_report

    service = services().answers
    questions = _questions(dataset, course, limit)
    service.warm_up()
    with _progress(len(questions), "question") as bar:
        report = evaluate_answers(
            # history given (even empty): stateless, nothing stored as a conversation
            # and the model's own answer, not one the answer cache kept
            lambda q: service.ask(q.question, course, history=list(q.turns), use_cache=False),
            questions, progress=lambda n, total, record: bar.update(1))
    paths = write_answer_report(report, report_dir(service.settings, out, course, "answers"),
                                title=course)
    typer.echo(report.table())
    typer.secho(f"report: {paths['html']}", dim=True, err=True)


@command(app, "peer")
def peer(
    source: Annotated[Path, typer.Argument(help="The course folder the recipe reads.")],
    course: Annotated[str, typer.Option("--course", "-c", help="Whose question set.")],
    dataset: DatasetOption = None,
    limit: LimitOption = None,
    out: OutOption = None,
) -> None:
    """The peer baseline: LangChain's tutorial recipe (1000-character chunks, MiniLM, FAISS,
    k=4, the stock prompt) with the configured model over the same files, scored by the
    same judge (eval/peer.py). Needs the `peer` extra."""
    from eval.answers import evaluate_answers
    from eval.peer import TutorialRecipe
    from eval.report import write_answer_report

    settings = load_settings()
    if not source.is_dir():
        raise fail(f"{source} is not a folder")
    questions = _questions(dataset, course, limit)
    try:
        recipe = TutorialRecipe.from_settings(source, settings)
    except ImportError as exc:
        raise fail(f"{exc}: the recipe needs the peer extra (pip install -e '.[peer]')",
                   code=1) from None
    with _progress(len(questions), "question") as bar:
        report = evaluate_answers(lambda q: recipe.ask(q.question), questions,
                                  progress=lambda n, total, record: bar.update(1))
    paths = write_answer_report(report, report_dir(settings, out, course, "peer"),
                                title=f"{course}: LangChain tutorial recipe")
    typer.echo(report.table())
    typer.secho(f"report: {paths['html']}", dim=True, err=True)


@command(app, "generate")
def generate(
    course: Annotated[str, typer.Option("--course", "-c")],
    count: Annotated[int, typer.Option(min=1, max=500, help="Passages to draft from.")] = 20,
    out: Annotated[Path | None, typer.Option(
        help="Where to write the drafts (default: evals/<course>/questions.draft.jsonl in "
             "the data directory).")] = None,
) -> None:
    """Draft a question set for a course from its own passages, with the local model, for
    the instructor to review: rename it questions.jsonl beside it once reviewed."""
    from eval.generate import draft_questions

    built = services()
    index = built.search.index(course)
    generator = built.answers.generator
    target = out or built.settings.data_dir / "evals" / course / "questions.draft.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with _progress(count, "passage") as bar, open(target, "w", encoding="utf-8") as handle:
        for draft in draft_questions(generator, course, index.manifest.title, index.chunks,
                                     count=count, progress=lambda n, total: bar.update(1)):
            handle.write(json.dumps(draft, ensure_ascii=False) + "\n")
            written += 1
    typer.echo(f"{written} draft questions from {count} passages → {target}")
    typer.echo("Review them (fix, drop, add key facts), then save as "
               f"{target.with_name('questions.jsonl')} to use them in evals.")


@command(app, "routing")
def routing(
    dataset: Annotated[list[Path] | None, typer.Option(help="JSONL routing set(s).")] = None,
) -> None:
    """Which chat messages run a demo: share of demo requests routed to the right demo, and
    questions that wrongly ran one (the goal is none)."""
    from eval.routing import DATASETS, evaluate_routing

    paths = dataset or [DATASETS / "routing.jsonl", DATASETS / "routing-heldout.jsonl"]
    for path in paths:
        report = evaluate_routing(path)
        typer.echo(f"{report.dataset}: {report.routed_right}/{report.demo_requests} demo "
                   f"requests routed right ({report.routed_share:.1%}); "
                   f"{report.demo_run_on_question}/{report.questions} questions ran a demo")
        for miss in report.misses:
            typer.secho(f"  miss: {miss['message']!r} → {miss['got']} (want {miss['want']})",
                        dim=True)
