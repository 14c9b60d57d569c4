"""The wire format: what every JSON route returns, as pydantic models.

Routes declare these as ``response_model`` (so ``/openapi.json`` describes each answer)
and build them from the service layer's frozen results with the ``from_*``
constructors here; the MCP server and ``studyhall … --json`` print the same models, so
there is one JSON shape of a hit, an answer or a demo run.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from demos.registry import ToolRun
from eval.jobs import REPORTED, Kind
from generator.results import Answer, Citation, Timings
from ingest.store import Manifest
from retriever.base import Hit
from studyhall.core.errors import text_problem
from studyhall.core.settings import Visibility


def _text(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# A string field of a request: refused with a 422 naming the field when it holds a NUL or a
# lone UTF-16 surrogate (a JSON "\ud800"), which no tokenizer or database takes.
Text = Annotated[str, AfterValidator(_text)]


def figure_url(run_id: str, name: str) -> str:
    """Where ``GET /v1/tools/runs/{run_id}/figures/{name}.png`` serves a figure."""
    return f"/v1/tools/runs/{run_id}/figures/{name}.png"


def report_urls(job_id: str) -> dict[str, str]:
    """Where ``GET /v1/evals/{id}/report.{kind}`` serves a finished eval's reports."""
    return {kind: f"/v1/evals/{job_id}/report.{kind}" for kind in ("html", "md", "json")}


class AnchorOut(BaseModel):
    kind: str = Field(description="section, page, slide, cell, time or line")
    ref: str = Field(description="The URL fragment: section=…, page=3, t=62 …")
    label: str = Field(description="What a person reads: 'page 3', 'cells 4–6 (code)' …")


class HitOut(BaseModel):
    rank: int
    score: float = Field(description="What the hit was ranked by (cosine, BM25 or fused).")
    dense_score: float | None = Field(description="Cosine similarity to the query.")
    bm25_score: float | None
    chunk_id: str
    course: str
    source: str = Field(description="The file, relative to the course folder.")
    lesson: str
    title: str
    heading_path: list[str]
    anchor: AnchorOut
    location: str = Field(description="source#fragment: the exact place to cite.")
    text: str

    @classmethod
    def from_hit(cls, hit: Hit, **extra: Any) -> HitOut:
        chunk = hit.chunk
        return cls(
            rank=hit.rank, score=round(hit.score, 6),
            dense_score=None if hit.dense_score is None else round(hit.dense_score, 6),
            bm25_score=None if hit.bm25_score is None else round(hit.bm25_score, 6),
            chunk_id=chunk.id, course=chunk.course, source=chunk.source, lesson=chunk.lesson,
            title=chunk.title, heading_path=list(chunk.heading_path),
            anchor=AnchorOut(kind=chunk.anchor.kind, ref=chunk.anchor.ref,
                             label=chunk.anchor.label),
            location=chunk.location, text=chunk.text, **extra,
        )


class SearchResponse(BaseModel):
    course: str
    query: str
    mode: str
    mmr: bool
    k: int
    hits: list[HitOut]
    took_ms: float


class CitationOut(HitOut):
    n: int = Field(description="The number the answer cites it by, [n].")


class SuggestionOut(BaseModel):
    title: str
    source: str
    location: str


class SourceOut(BaseModel):
    """A source the model is reading, sent before its answer: where it is, not its text."""

    n: int = Field(description="The number the answer may cite it by, [n].")
    title: str
    heading_path: list[str]
    source: str
    location: str = Field(description="source#fragment: the exact place.")
    label: str | None = Field(None, description="The anchor's own label (slide 4, lines 7–13).")

    @classmethod
    def from_citation(cls, citation: Citation) -> SourceOut:
        chunk = citation.hit.chunk
        return cls(n=citation.n, title=chunk.title, heading_path=list(chunk.heading_path),
                   source=chunk.source, location=chunk.location, label=chunk.anchor.label)


class SourcesOut(BaseModel):
    """The ``sources`` event of a streamed answer, and the OpenAI-compatible stream's first
    ``studyhall`` extra."""

    sources: list[SourceOut]

    @classmethod
    def from_event(cls, citations: tuple[Citation, ...]) -> SourcesOut:
        return cls(sources=[SourceOut.from_citation(c) for c in citations])


class TimingsOut(BaseModel):
    retrieve_ms: float | None = None
    sources_ms: float | None = Field(None, description="The sources event, since the request.")
    cache_ms: float | None = Field(None, description="Looking the question up in the answer "
                                   "cache (a hit answers in this time).")
    rewrite_ms: float | None = Field(None, description="A follow-up made standalone.")
    rescue_ms: float | None = Field(None, description="A question restated and searched again.")
    first_token_ms: float | None = Field(None, description="None when nothing was generated.")
    total_ms: float | None = None

    @classmethod
    def from_timings(cls, timings: Timings) -> TimingsOut:
        return cls(**timings.__dict__)


class FigureOut(BaseModel):
    name: str
    title: str
    url: str


class DemoRunOut(BaseModel):
    run_id: str
    tool: str
    params: dict[str, Any]
    seconds: float = Field(description="How long the training took when it ran.")
    cached: bool = Field(description="True when a kept run was returned.")
    metrics: dict[str, float]
    explanation: str
    lesson: str = Field(description="The course file the demo illustrates.")
    figures: list[FigureOut]
    history: dict[str, list[float]] = Field(description="Per-step curves.")

    @classmethod
    def from_run(cls, run: ToolRun) -> DemoRunOut:
        kept = run.to_dict()
        kept["figures"] = [FigureOut(**f, url=figure_url(run.run_id, f["name"]))
                           for f in kept["figures"]]
        return cls(**kept)


class AnswerOut(BaseModel):
    question: str
    standalone_question: str = Field(description="What retrieval searched for.")
    course: str
    answer: str
    refused: bool = Field(description="True when the course does not cover the question.")
    citations: list[CitationOut] = Field(description="Only the sources the answer cites.")
    suggestions: list[SuggestionOut] = Field(description="The closest lessons, when refused.")
    confidence: float
    timings: TimingsOut
    session_id: str | None
    message_id: int | None
    demo: DemoRunOut | None = Field(None, description="The demo run, when one was asked for.")
    cached: bool = Field(False, description="Served from the answer cache: the same question "
                         "was answered before in this version of the course.")

    @classmethod
    def from_answer(cls, answer: Answer) -> AnswerOut:
        return cls(
            question=answer.question, standalone_question=answer.standalone_question,
            course=answer.course, answer=answer.text, refused=answer.refused,
            citations=citations(answer), suggestions=suggestions(answer),
            confidence=round(answer.confidence, 4),
            timings=TimingsOut.from_timings(answer.timings), session_id=answer.session_id,
            message_id=answer.message_id,
            demo=DemoRunOut.from_run(answer.demo) if answer.demo is not None else None,
            cached=answer.cached,
        )


def citations(answer: Answer) -> list[CitationOut]:
    return [CitationOut.from_hit(c.hit, n=c.n) for c in answer.citations]


def suggestions(answer: Answer) -> list[SuggestionOut]:
    return [SuggestionOut(**s.__dict__) for s in answer.suggestions]


class FeedbackCreated(BaseModel):
    id: int


class CourseOut(BaseModel):
    id: str
    title: str
    description: str
    licence: str
    files: int
    chunks: int
    embedder: str
    dimension: int
    index_kind: str
    updated_at: str

    @classmethod
    def from_manifest(cls, manifest: Manifest) -> CourseOut:
        return cls(
            id=manifest.course_id, title=manifest.title, description=manifest.description,
            licence=manifest.licence, files=len(manifest.files), chunks=manifest.chunk_count,
            embedder=manifest.embedder, dimension=manifest.dimension,
            index_kind=manifest.index_kind, updated_at=manifest.created_at,
        )


class CoursesResponse(BaseModel):
    courses: list[CourseOut]


class ModelServer(BaseModel):
    url: str
    in_flight: int = Field(description="Answers it is generating now.")
    served: int = Field(description="Requests it has taken since this replica started.")
    up: bool = Field(description="False while it is left out after a failure.")
    failures: int = Field(description="Failures in a row; the back-off doubles with each.")


class Health(BaseModel):
    status: Literal["ok"]
    courses: list[str]
    embedder: str
    model_servers: list[ModelServer] | None = Field(
        None, description="For the admin, with the openai backend: the model servers as "
                          "this replica sees them.")


class ModelCard(BaseModel):
    id: str = Field(description="studyhall/<course id>")
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "studyhall"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class AnswerCacheOut(BaseModel):
    course: str
    enabled: bool = Field(description="Whether this server answers from the cache at all.")
    hits: int = Field(0, description="Questions answered from the cache.")
    misses: int = Field(0, description="Questions answered by the model (and then kept).")
    hit_rate: float = Field(0.0, description="hits / (hits + misses).")
    entries: int = Field(0, description="Answers kept for the course's current version.")


class StudyhallExtra(BaseModel):
    """The sources of an OpenAI-compatible answer, in the extra field ``studyhall``."""

    citations: list[CitationOut]
    refused: bool
    suggestions: list[SuggestionOut]
    session_id: None = None
    demo: DemoRunOut | None = None
    cached: bool = False

    @classmethod
    def from_answer(cls, answer: Answer) -> StudyhallExtra:
        return cls(citations=citations(answer), refused=answer.refused,
                   suggestions=suggestions(answer),
                   demo=DemoRunOut.from_run(answer.demo) if answer.demo is not None else None,
                   cached=answer.cached)


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    finish_reason: Literal["stop"] = "stop"
    message: AssistantMessage


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage = Field(default_factory=Usage)
    studyhall: StudyhallExtra


class ToolOut(BaseModel):
    name: str
    description: str
    lesson: str
    parameters: dict[str, Any] = Field(description="JSON Schema of the demo's parameters.")
    timeout_s: float


class ToolList(BaseModel):
    tools: list[ToolOut]


class EvalParams(BaseModel):
    limit: int | None
    configs: list[str]


class EvalJobOut(BaseModel):
    id: str
    course: str
    kind: Kind
    params: EvalParams
    status: Literal["queued", "running", "done", "failed", "interrupted"]
    done: int = Field(description="Questions (answers, warm), configurations (retrieval) or "
                                  "passages (draft) done.")
    total: int
    summary: dict[str, Any] | None = Field(description="The headline numbers, when done.")
    error: str | None
    created: float
    started: float | None
    finished: float | None
    report: dict[str, str] | None = Field(
        None, description="The report's URLs (html, md, json), when done.")

    @classmethod
    def from_job(cls, job: dict[str, Any]) -> EvalJobOut:
        report = (report_urls(job["id"]) if job["status"] == "done" and job["kind"] in REPORTED
                  else None)
        return cls(**job, report=report)


class EvalJobList(BaseModel):
    jobs: list[EvalJobOut]


class IngestJobOut(BaseModel):
    id: str
    course: str
    files: list[str] = Field(description="The uploaded file names, in ingest order.")
    status: Literal["queued", "running", "done", "failed", "interrupted"]
    done: int = Field(description="Files ingested or skipped so far.")
    total: int
    current: str | None = Field(description="The file being ingested, or (\"waiting: …\") what "
                                            "the job waits for before it can start.")
    report: dict[str, Any] | None = Field(
        description="Files added, changed, unchanged, skipped (with the reason) and kept at "
        "their previous version, so far; ``after``: what followed the publish (the course's "
        "own gate refitted, or why it could not be; a KV warm-up queued).")
    error: str | None
    created: float
    started: float | None
    finished: float | None


class Jwks(BaseModel):
    keys: list[dict[str, Any]]


class ApiKeyOut(BaseModel):
    id: str
    name: str
    courses: list[str]
    scope: Literal["read", "instruct"]
    created_at: float
    created_by: str
    last_used_at: float | None
    revoked_at: float | None

    @classmethod
    def from_key(cls, key: Any) -> ApiKeyOut:
        """From an :class:`api.access.store.ApiKey` (untyped here: importing the access
        package would import LTI, whose routes return these models)."""
        return cls(id=key.id, name=key.name, courses=list(key.courses), scope=key.scope,
                   created_at=key.created_at, created_by=key.created_by,
                   last_used_at=key.last_used_at, revoked_at=key.revoked_at)


class ApiKeyList(BaseModel):
    keys: list[ApiKeyOut]


class NewApiKeyOut(BaseModel):
    key: ApiKeyOut
    token: str = Field(description="The key itself, shown this once: send it as "
                                   "'Authorization: Bearer <token>'.")


class VisibilityOut(BaseModel):
    course: str
    visibility: Visibility


class FieldProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every error's body: ``detail`` says what is wrong, as a message or (a request field at
    fault) FastAPI's list of ``{loc, msg, type}``; some errors add a key, e.g. the
    ``known_courses`` of an unknown course."""

    model_config = {"extra": "allow"}
    detail: str | list[FieldProblem]


_MEANING = {
    400: "The body is not valid JSON text, or not a request this route takes.",
    401: "No credentials, or ones that do not check out (the reason says which).",
    403: "The credentials do not reach this course or this action.",
    404: "No such course, session, job, demo or key.",
    409: "The course's index was built by another embedder: rebuild it.",
    413: "Over a size limit (the message names it).",
    415: "A file type no loader reads.",
    422: "A parameter is wrong (the message names it and what it may be).",
    429: "Over a rate limit or a conversation's question limit: see Retry-After.",
    499: "The client went away; the work was stopped.",
    503: "Busy (see Retry-After), or a model is missing on the server.",
    504: "Ran past its time limit.",
    507: "The server's disk is full: nothing of the request was kept; try again later.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that answers these error statuses, one body shape."""
    return {code: {"model": ErrorBody, "description": _MEANING[code]} for code in codes}
