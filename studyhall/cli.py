"""The ``studyhall`` command line.

    studyhall ingest corpus/genai-basics --course genai-basics
    studyhall courses
    studyhall search "why is GAN training unstable?" --course genai-basics -k 5
    studyhall ask "why is GAN training unstable?" --course genai-basics
    studyhall chat --course genai-basics
    studyhall serve --port 8000
    studyhall eval retrieval --course genai-basics

Errors a user can fix (an unknown course, k out of range, an empty question) print one
line naming the problem and exit with status 2; nothing prints a traceback for them.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from studyhall.settings import Settings

app = typer.Typer(
    help="studyhall: an offline course assistant. Ingest a course, then search or serve it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(help="Measure retrieval on a labelled question set.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
lti_app = typer.Typer(help="Register LMS platforms for LTI 1.3 launches.", no_args_is_help=True)
app.add_typer(lti_app, name="lti")


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def load_settings() -> Settings:
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        raise fail(f"invalid settings: {exc}") from None


@app.callback()
def _setup(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="A course folder, or a single file to add.")],
    course: Annotated[str, typer.Option("--course", "-c", help="Course id, e.g. genai-basics.")],
    title: Annotated[str | None, typer.Option(help="Course title (else course.yaml's).")] = None,
    rebuild: Annotated[
        bool, typer.Option(help="Re-embed everything (needed after changing the embedder).")
    ] = False,
) -> None:
    """Ingest a folder (it becomes the whole course) or one file (added to the course)."""
    from ingest.catalog import Catalog, CourseBusy
    from ingest.embedder import EmbedderNotFound, SentenceTransformerEmbedder
    from ingest.pipeline import IngestError, Ingestor
    from ingest.store import IndexMismatch

    settings = load_settings()
    try:
        embedder = SentenceTransformerEmbedder(
            settings.embedder, batch_size=settings.ingest.embed_batch_size
        )
        catalog = Catalog(settings.courses_dir, keep_versions=settings.ingest.keep_versions)
        report = Ingestor(catalog, embedder, settings.ingest).ingest(
            path, course, title=title, rebuild=rebuild, progress=sys.stderr.isatty()
        )
    except (IngestError, IndexMismatch, CourseBusy, EmbedderNotFound, ValueError) as exc:
        raise fail(str(exc), code=1) from None
    for source, reason in report.skipped.items():
        kept = " (kept the previously ingested version)" if source in report.kept_previous else ""
        typer.secho(f"warning: skipped {source}: {reason}{kept}", err=True, fg=typer.colors.YELLOW)
    typer.echo(report.summary())


@app.command()
def courses(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the ingested courses."""
    from ingest.catalog import Catalog

    settings = load_settings()
    manifests = Catalog(settings.courses_dir).manifests()
    if as_json:
        typer.echo(json.dumps([m.summary() for m in manifests], indent=2))
        return
    if not manifests:
        typer.echo("no courses yet: studyhall ingest PATH --course ID")
        return
    for m in manifests:
        typer.echo(
            f"{m.course_id:<20} {m.title}  ({len(m.files)} files, {m.chunk_count} chunks, "
            f"{m.embedder} {m.dimension}-d, {m.index_kind}, {m.created_at})"
        )


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="The question.")],
    course: Annotated[str, typer.Option("--course", "-c")],
    k: Annotated[int | None, typer.Option("-k", help="Number of passages.")] = None,
    mode: Annotated[str | None, typer.Option(help="hybrid, dense or bm25.")] = None,
    mmr: Annotated[bool, typer.Option(help="Re-rank for diversity (MMR).")] = False,
    document: Annotated[list[str] | None, typer.Option(help="Only this source file.")] = None,
    lesson: Annotated[list[str] | None, typer.Option(help="Only this lesson.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Find the passages of a course that answer a question."""
    from ingest.catalog import UnknownCourse
    from ingest.embedder import EmbedderNotFound
    from ingest.store import IndexMismatch
    from retriever.base import hit_to_dict
    from retriever.service import InvalidRequest, SearchService

    service = SearchService(load_settings())
    try:
        hits = service.search(
            query, course, k=k, mode=mode, mmr=mmr, documents=document or (), lessons=lesson or ()
        )
    except (InvalidRequest, UnknownCourse) as exc:
        raise fail(str(exc)) from None
    except (IndexMismatch, EmbedderNotFound) as exc:
        raise fail(str(exc), code=1) from None
    if as_json:
        typer.echo(json.dumps([hit_to_dict(h) for h in hits], indent=2, ensure_ascii=False))
        return
    for hit in hits:
        where = " › ".join(hit.chunk.heading_path)
        if hit.chunk.anchor.label != hit.chunk.heading_path[-1]:
            where += f", {hit.chunk.anchor.label}"
        typer.secho(f"[{hit.rank}] {hit.score:.4f}  {hit.chunk.location}  ({where})", bold=True)
        text = " ".join(hit.chunk.text.split())
        typer.echo(f"    {text[:300]}{'…' if len(text) > 300 else ''}")


def _answer_service():
    from generator.answer import build_answer_service
    from retriever.service import SearchService

    settings = load_settings()
    return build_answer_service(settings, SearchService(settings))


def _print_sources(answer) -> None:
    for citation in answer.citation_dicts():
        where = " › ".join(citation["heading_path"])
        typer.secho(f"  [{citation['n']}] {citation['location']}  ({where})", dim=True)
    for suggestion in answer.suggestions:
        typer.secho(f"  see: {suggestion['title']}  ({suggestion['location']})", dim=True)
    if answer.demo is not None:
        runs = load_settings().demo_runs / answer.demo["run_id"]
        for figure in answer.demo["figures"]:
            typer.secho(f"  figure: {runs / (figure['name'] + '.png')}  ({figure['title']})",
                        dim=True)


def _run_answer(service, question: str, course: str, *, session_id: str | None,
                stream: bool, as_json: bool):
    """Answer once, streaming to the terminal or printing JSON; return the Answer."""
    answer = None
    for kind, payload in service.stream(question, course, session_id=session_id):
        if kind == "token" and stream and not as_json:
            typer.echo(payload, nl=False)
        elif kind == "done":
            answer = payload
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        if not stream:
            typer.echo(answer.text, nl=False)
        elif answer.refused and answer.timings.get("first_token_ms") is not None:
            # what streamed was withdrawn: the sources do not support it
            typer.secho("\n(withdrawn: the course sources do not support this answer)",
                        fg=typer.colors.YELLOW)
            typer.echo(answer.text, nl=False)
        typer.echo()
        _print_sources(answer)
    return answer


def _answer_errors():
    from generator.conversations import UnknownSession
    from generator.models import ModelNotAvailable
    from generator.queue import Busy
    from ingest.catalog import UnknownCourse
    from ingest.embedder import EmbedderNotFound
    from ingest.store import IndexMismatch
    from retriever.service import InvalidRequest

    usage = (InvalidRequest, UnknownCourse, UnknownSession)
    failure = (ModelNotAvailable, Busy, IndexMismatch, EmbedderNotFound, ImportError)
    return usage, failure


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    course: Annotated[str, typer.Option("--course", "-c")],
    session: Annotated[str | None, typer.Option(help="Continue a conversation.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    no_stream: Annotated[bool, typer.Option("--no-stream", help="Print when complete.")] = False,
) -> None:
    """Answer a question from the course, with citations (or say it is not covered)."""
    usage, failure = _answer_errors()
    try:
        _run_answer(_answer_service(), question, course, session_id=session,
                    stream=not no_stream, as_json=as_json)
    except usage as exc:
        raise fail(str(exc)) from None
    except failure as exc:
        raise fail(str(exc), code=1) from None


@app.command()
def chat(course: Annotated[str, typer.Option("--course", "-c")]) -> None:
    """An interactive conversation: follow-up questions keep their context. Ctrl-D ends."""
    usage, failure = _answer_errors()
    service = _answer_service()
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
            answer = _run_answer(service, question, course, session_id=session, stream=True,
                                 as_json=False)
            session = answer.session_id
        except usage as exc:
            typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        except failure as exc:
            raise fail(str(exc), code=1) from None


def _parse_sets(pairs: list[str]) -> dict:
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


@app.command()
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


@app.command()
def demo(
    name: Annotated[str, typer.Argument(help="Which demo; `studyhall demos` lists them.")],
    sets: Annotated[list[str] | None, typer.Option(
        "--set", help="A parameter, key=value (repeatable).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the figures (PNG) here.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Train one of the course's models from scratch and show its numbers and figures."""
    from demos.base import Cancelled
    from demos.registry import DemoTimeout, InvalidParameters, UnknownTool, build_runner

    runner = build_runner(load_settings())
    try:
        run = runner.run(name, _parse_sets(sets or []))
    except (UnknownTool, InvalidParameters) as exc:
        raise fail(str(exc)) from None
    except (DemoTimeout, Cancelled) as exc:
        raise fail(str(exc), code=1) from None
    folder = out or runner.store / run.run_id
    if out:
        out.mkdir(parents=True, exist_ok=True)
        for figure in run.result.figures:
            (out / f"{figure.name}.png").write_bytes(figure.png)
    if as_json:
        typer.echo(json.dumps(run.to_dict(lambda _, n: str(folder / f"{n}.png")), indent=2))
        return
    typer.echo(run.result.explanation)
    for key, value in run.result.metrics.items():
        typer.echo(f"  {key}: {value:.4g}")
    for figure in run.result.figures:
        typer.secho(f"  figure: {folder / (figure.name + '.png')}  ({figure.title})", dim=True)
    typer.secho(f"  {'kept run' if run.cached else 'trained in'} {run.seconds:.1f} s · "
                f"lesson: {run.result.lesson}", dim=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
) -> None:
    """Serve the chat page (/), the HTTP API (/v1), LTI (/lti) and MCP (/mcp)."""
    import uvicorn

    from api.app import create_app

    settings = load_settings()
    app_ = create_app(settings)
    uvicorn.run(
        app_,
        host=host or settings.server.host,
        port=port or settings.server.port,
        log_level="info",
    )


@app.command()
def mcp() -> None:
    """Serve search_course, ask_course and the demos to an MCP client over stdio."""
    from types import SimpleNamespace

    from api.app import _once
    from api.mcp import build_mcp
    from demos.registry import build_runner
    from generator.answer import build_answer_service
    from retriever.service import SearchService

    settings = load_settings()
    search_service = SearchService(settings)
    runner = build_runner(settings)
    state = SimpleNamespace(search=search_service, demos=runner, answers=_once(
        lambda: build_answer_service(settings, search_service, runner)))
    build_mcp(state).run("stdio")


def _data_dir() -> Path:
    return load_settings().data_dir


def _report_dir(out: Path | None, course: str, kind: str) -> Path:
    """Where an eval writes its report: --out, or a new folder under the data directory."""
    if out is not None:
        return out
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return load_settings().data_dir / "evals" / course / f"{kind}-{stamp}"


@lti_app.command("add-platform")
def lti_add_platform(
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
        help="The studyhall course for any other LMS course.")] = None,
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
                                context_courses=mapping, default_course=default_course)
    except (ValidationError, ValueError) as exc:
        raise fail(str(exc)) from None
    typer.echo(f"platform {platform.issuer} (client {platform.client_id}) registered")


@lti_app.command("load")
def lti_load(
    path: Annotated[Path, typer.Argument(help="A .json or .toml platforms file.")],
) -> None:
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


@lti_app.command("list")
def lti_list() -> None:
    """The registered platforms."""
    from api.lti import PlatformRegistry

    for platform in PlatformRegistry(load_settings().database).list():
        typer.echo(f"{platform.issuer}  client={platform.client_id}  "
                   f"deployments={','.join(platform.deployment_ids)}")


@eval_app.command("retrieval")
def eval_retrieval(
    course: Annotated[str, typer.Option("--course", "-c")],
    dataset: Annotated[
        Path | None, typer.Option(help="JSONL question set (default: the course's bundled one).")
    ] = None,
    configs: Annotated[
        str, typer.Option("--configs", "--modes",
                          help="Comma-separated retrieval modes to compare; MODE+mmr adds MMR.")
    ] = "bm25,dense,hybrid,hybrid+mmr",
    k: Annotated[int, typer.Option("-k", help="Depth for recall, MRR and nDCG.")] = 10,
    chunks: Annotated[str | None, typer.Option(
        help="Also compare chunk sizes, SIZE/OVERLAP in word-pieces, e.g. 96/16,128/24: the "
             "course folder (--source) is ingested once per size into a scratch index.")] = None,
    source: Annotated[Path | None, typer.Option(help="The course folder, for --chunks.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Report folder (JSON, Markdown, HTML); default: under the data directory.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """hit@k, recall@k, MRR@10 and nDCG@10 of each retrieval configuration on a labelled
    question set, with a report listing every miss."""
    from tqdm import tqdm

    from eval.datasets import DatasetError, load_questions
    from eval.jobs import course_dataset
    from eval.report import write_retrieval_report
    from eval.retrieval import (
        evaluate_retrieval,
        format_table,
        parse_chunk_size,
        sweep_chunk_sizes,
    )
    from ingest.catalog import UnknownCourse
    from retriever.service import InvalidRequest, SearchService

    service = SearchService(load_settings())
    try:
        questions = load_questions(dataset or course_dataset(_data_dir(), course), course=course)
        specs = [spec.strip() for spec in configs.split(",") if spec.strip()]
        results = []
        for spec in tqdm(specs, unit="config", disable=not sys.stderr.isatty()):
            mode, _, extra = spec.partition("+")
            if extra not in ("", "mmr"):
                raise InvalidRequest("configs", f"unknown modifier {extra!r}; use MODE+mmr")
            results.append(evaluate_retrieval(
                service, questions, course, mode=mode, depth=k, mmr=extra == "mmr"
            ))
        if chunks:
            if source is None or not source.is_dir():
                raise InvalidRequest("source", "--chunks needs --source, the course folder")
            sizes = [parse_chunk_size(spec) for spec in chunks.split(",")]
            results += sweep_chunk_sizes(service.settings, service.embedder, source, course,
                                         questions, sizes, specs)
    except (DatasetError, InvalidRequest, UnknownCourse, FileNotFoundError,
            ValueError) as exc:  # ValueError: a malformed chunk size
        raise fail(str(exc)) from None
    paths = write_retrieval_report(results, _report_dir(out, course, "retrieval"), title=course)
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        typer.echo(format_table(results))
        typer.secho(f"report: {paths['html']}", dim=True, err=True)


@eval_app.command("gate")
def eval_gate(
    course: Annotated[str, typer.Option("--course", "-c")],
    dataset: Annotated[Path | None, typer.Option(help="JSONL question set.")] = None,
) -> None:
    """How the "not covered" threshold splits answerable from out-of-course questions."""
    from eval.datasets import DatasetError, default_dataset, load_questions
    from eval.gate import calibrate, format_gate
    from ingest.catalog import UnknownCourse
    from retriever.service import SearchService

    try:
        questions = load_questions(dataset or default_dataset(course), course=course)
        rows = calibrate(SearchService(load_settings()), questions, course,
                         [0.30, 0.35, 0.38, 0.40, 0.42, 0.45])
    except (DatasetError, UnknownCourse, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    typer.echo(format_gate(rows))


@eval_app.command("answers")
def eval_answers(
    course: Annotated[str, typer.Option("--course", "-c")],
    dataset: Annotated[
        Path | None, typer.Option(help="JSONL question set (default: the course's bundled one).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Report folder (JSON, Markdown, HTML); default: under the data directory.")] = None,
) -> None:
    """Answer every question with the configured model and score the answers: correct with
    a correct citation, over-refusal, refusal of out-of-course questions, faithfulness,
    latency; the report lists every failure."""
    from tqdm import tqdm

    from eval.answers import evaluate_answers
    from eval.datasets import DatasetError, load_questions
    from eval.jobs import course_dataset
    from eval.report import write_answer_report

    usage, failure = _answer_errors()
    service = _answer_service()
    service.store = None  # an evaluation is not a conversation
    try:
        questions = load_questions(dataset or course_dataset(_data_dir(), course),
                                   course=course)[:limit]
        service.warm_up()
        with tqdm(total=len(questions), unit="question", disable=not sys.stderr.isatty()) as bar:
            report = evaluate_answers(
                lambda q: service.ask(q.question, course, history=list(q.turns) or None),
                questions,
                progress=lambda n, total, record: bar.update(1),
            )
    except (DatasetError, FileNotFoundError, *usage) as exc:
        raise fail(str(exc)) from None
    except failure as exc:
        raise fail(str(exc), code=1) from None
    paths = write_answer_report(report, _report_dir(out, course, "answers"), title=course)
    typer.echo(report.table())
    typer.secho(f"report: {paths['html']}", dim=True, err=True)


@eval_app.command("peer")
def eval_peer(
    source: Annotated[Path, typer.Argument(help="The course folder the recipe reads.")],
    course: Annotated[str, typer.Option("--course", "-c", help="Whose question set.")],
    dataset: Annotated[
        Path | None, typer.Option(help="JSONL question set (default: the course's bundled one).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    out: Annotated[Path | None, typer.Option(help="Report folder (JSON, Markdown, HTML).")] = None,
) -> None:
    """The peer baseline: LangChain's tutorial recipe (1000-character chunks, MiniLM, FAISS,
    k=4, the stock prompt) with the configured model over the same files, scored by the
    same judge (eval/peer.py). Needs the `peer` extra."""
    from tqdm import tqdm

    from eval.answers import evaluate_answers
    from eval.datasets import DatasetError, load_questions
    from eval.jobs import course_dataset
    from eval.peer import TutorialRecipe
    from eval.report import write_answer_report
    from generator.models import ModelNotAvailable
    from ingest.embedder import EmbedderNotFound

    settings = load_settings()
    if not source.is_dir():
        raise fail(f"{source} is not a folder")
    try:
        questions = load_questions(dataset or course_dataset(settings.data_dir, course),
                                   course=course)[:limit]
        recipe = TutorialRecipe.from_settings(source, settings)
    except (DatasetError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    except ImportError as exc:
        raise fail(f"{exc}: the recipe needs the peer extra (pip install -e '.[peer]')",
                   code=1) from None
    except (ModelNotAvailable, EmbedderNotFound) as exc:
        raise fail(str(exc), code=1) from None
    with tqdm(total=len(questions), unit="question", disable=not sys.stderr.isatty()) as bar:
        report = evaluate_answers(lambda q: recipe.ask(q.question), questions,
                                  progress=lambda n, total, record: bar.update(1))
    paths = write_answer_report(report, _report_dir(out, course, "peer"),
                                title=f"{course}: LangChain tutorial recipe")
    typer.echo(report.table())
    typer.secho(f"report: {paths['html']}", dim=True, err=True)


@eval_app.command("generate")
def eval_generate(
    course: Annotated[str, typer.Option("--course", "-c")],
    count: Annotated[int, typer.Option(min=1, max=500, help="Passages to draft from.")] = 20,
    out: Annotated[Path | None, typer.Option(
        help="Where to write the drafts (default: evals/<course>/questions.draft.jsonl in "
             "the data directory).")] = None,
) -> None:
    """Draft a question set for a course from its own passages, with the local model, for
    the instructor to review: rename it questions.jsonl beside it once reviewed."""
    from tqdm import tqdm

    from eval.generate import draft_questions
    from generator.backends import build_generator
    from ingest.catalog import UnknownCourse
    from retriever.service import SearchService

    settings = load_settings()
    usage, failure = _answer_errors()
    try:
        index = SearchService(settings).index(course)
        generator = build_generator(settings.generator, settings.model_store)
        target = out or settings.data_dir / "evals" / course / "questions.draft.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with tqdm(total=count, unit="passage", disable=not sys.stderr.isatty()) as bar, \
                open(target, "w", encoding="utf-8") as handle:
            for draft in draft_questions(generator, course, index.manifest.title, index.chunks,
                                         count=count, progress=lambda n, total: bar.update(1)):
                handle.write(json.dumps(draft, ensure_ascii=False) + "\n")
                written += 1
    except (UnknownCourse, *usage) as exc:
        raise fail(str(exc)) from None
    except failure as exc:
        raise fail(str(exc), code=1) from None
    typer.echo(f"{written} draft questions from {count} passages → {target}")
    typer.echo("Review them (fix, drop, add key facts), then save as "
               f"{target.with_name('questions.jsonl')} to use them in evals.")


@eval_app.command("routing")
def eval_routing(
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
