"""The one settings object. Every value can be set from the environment with the
``STUDYHALL_`` prefix; nested groups use ``__`` (``STUDYHALL_RETRIEVAL__MODE=dense``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

RetrievalMode = Literal["hybrid", "dense", "bm25"]
_RATE = re.compile(r"^\s*[1-9]\d*\s*/\s*(second|minute|hour|day)\s*$")
# Who may read a course: anyone, its LMS users (an LTI session or an API key of the
# course), or only its instructors and the admin (api/access/policy.py decides).
Visibility = Literal["public", "lms", "private"]
# The answer prompt's layouts (generator/prompts.py defines each); only "default" is the
# measured best, the others are the variants measured against it (docs/experiments.md).
PromptStrategyName = Literal[
    "default", "be-specific", "be-specific-closing", "one-shot-example", "best-passage-last",
    "question-before-sources",
]


class IngestSettings(BaseModel):
    chunk_tokens: int = Field(
        96, ge=32, le=512, description="Most word-pieces of body text in one chunk."
    )
    overlap_tokens: int = Field(
        16, ge=0, le=256, description="Word-pieces shared by consecutive chunks of a section."
    )
    embed_batch_size: int = Field(32, ge=1, le=1024, description="Passages per encode call.")
    index_kind: Literal["auto", "flat", "hnsw"] = Field(
        "auto", description="FAISS index type; 'auto' uses flat below `hnsw_above` vectors."
    )
    hnsw_above: int = Field(
        50_000, ge=1, description="Vector count above which 'auto' builds an HNSW index."
    )
    keep_versions: int = Field(
        2, ge=1, le=20, description="Published index versions kept per course (current included)."
    )
    sandbox: bool = Field(
        True, description="Parse files in a separate process with the limits below, so a "
        "crafted file fails alone (off: in this process, for debugging a loader).")
    parse_timeout_s: float = Field(60.0, gt=0, le=3600, description="Longest one file may parse.")
    parse_memory_mb: int = Field(
        2048, ge=256, le=65536, description="Address space of the parsing process, in MiB.")
    max_file_mb: int = Field(
        200, ge=1, le=10240, description="Largest file read (and, for a zip-based file, "
        "what its parts may unpack to), in MiB.")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> IngestSettings:
        if self.overlap_tokens >= self.chunk_tokens:
            raise ValueError(
                f"overlap_tokens must be below chunk_tokens, got {self.overlap_tokens} "
                f">= {self.chunk_tokens}"
            )
        return self


class RetrievalSettings(BaseModel):
    mode: RetrievalMode = Field("hybrid", description="Default retrieval mode.")
    default_k: int = Field(5, ge=1, description="Hits returned when the caller gives no k.")
    max_k: int = Field(50, ge=1, le=1000, description="Largest k a caller may ask for.")
    max_query_chars: int = Field(2000, ge=16, description="Longest question accepted.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    bm25_weight: float = Field(
        0.7, ge=0.0, le=10.0, description="Weight of the BM25 list in hybrid fusion (dense: 1)."
    )
    candidates: int = Field(
        50, ge=1, description="Hits each retriever contributes before fusion or MMR."
    )
    code_weight: float = Field(
        0.0, ge=0.0, le=10.0, description="For a question about code, weight of the list of "
        "candidates that hold code in hybrid fusion; 0, off: measured and not adopted "
        "(docs/experiments.md)."
    )
    mmr_lambda: float = Field(
        0.7, ge=0.0, le=1.0, description="MMR trade-off: 1 = relevance only, 0 = diversity only."
    )

    @model_validator(mode="after")
    def _default_within_cap(self) -> RetrievalSettings:
        if self.default_k > self.max_k:
            raise ValueError(f"default_k must be <= max_k ({self.max_k}), got {self.default_k}")
        return self


class GeneratorSettings(BaseModel):
    backend: Literal["llama_cpp", "transformers", "openai"] = Field(
        "llama_cpp", description="Which backend generates answers."
    )
    model: str = Field(
        "default",
        description="A profile (default: Qwen2.5-Coder-1.5B Q4_K_M; fast: the 0.5B; tiny: "
        "SmolLM2-135M), a known model name, a .gguf path, or (openai) the server's model name.",
    )
    hf_model: str | None = Field(
        None, description="transformers backend: a hub id or local directory instead of a GGUF."
    )
    base_url: str | None = Field(
        None, description="openai backend: the server's /v1 URL; several, comma-separated, "
        "share the answers (the least busy first, each taking server_limit at once).")
    api_key: str = Field("not-needed", description="openai backend: the servers' API key.")
    server_limit: int = Field(
        4, ge=1, le=256, description="openai backend: answers one server writes at once; "
        "more wait for a place (up to request_timeout).")
    request_timeout: float = Field(
        120.0, ge=1.0, le=3600.0, description="openai backend: seconds to wait for the next "
        "piece of an answer (the first included) before the server is given up.")
    retries: int = Field(
        2, ge=0, le=10, description="openai backend: other servers tried when one fails "
        "before its first token (no connection, a timeout, 5xx, 429).")
    context_window: int = Field(4096, ge=512, le=131072, description="Prompt + answer tokens.")
    threads: int | None = Field(None, ge=1, le=256, description="CPU threads (default: all).")
    nice: int = Field(
        10, ge=0, le=19, description="llama_cpp backend: how much lower than the server's the "
        "model's CPU priority is, so searches and pages are served while it generates "
        "(0: the same).")
    max_tokens: int = Field(320, ge=16, le=4096, description="Longest answer, in tokens.")
    kv_reuse: bool = Field(
        False, description="llama_cpp backend, ChatML models: compute each source's KV cache "
        "once, on its own, and stitch it into every prompt that shows the source again "
        "(only its number, its first kv_recompute tokens, the question and the template's "
        "tail are computed per question).")
    kv_budget_mb: int = Field(768, ge=16, le=65536,
                              description="Memory for the sources' KV caches (LRU).")
    parallel: int = Field(
        1, ge=1, le=16, description="llama_cpp backend, ChatML models: answers written "
        "together, one token of each per batch (a CPU reads the weights once for all of "
        "them); without kv_reuse each prompt is read whole, as one at a time reads it. More "
        "wait in the queue (answer.max_waiting).")
    kv_recompute: int = Field(
        16, ge=0, le=512, description="Tokens at the start of each reused source after the "
        "first computed afresh, so they read the sources before them.")


    @field_validator("base_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        if value is None:
            return None
        urls = [url.strip() for url in value.split(",")]
        for url in urls:
            if not url.startswith(("http://", "https://")) or len(url) < 10:
                raise ValueError(f"each base URL must be an http(s):// URL, got {url!r}")
        return ",".join(urls)

    @property
    def base_urls(self) -> list[str]:
        return self.base_url.split(",") if self.base_url else []  # stripped when validated


class AnswerSettings(BaseModel):
    sources: int = Field(5, ge=1, le=20, description="Hits retrieved for an answer.")
    source_tokens: int = Field(
        500, ge=64, le=32768,
        description="Most tokens of source text in a prompt (each hit widened to its "
        "neighbouring chunks): more context, later first token.",
    )
    min_confidence: float = Field(
        0.40, ge=-1.0, le=1.0,
        description="Below this cosine between the question and its best passage the course "
        "is taken not to cover it, and the model is not called.",
    )
    rescue_above: float | None = Field(
        0.25, ge=-1.0, le=1.0,
        description="Between this and min_confidence the model first restates the question "
        "in the field's usual terms and retrieval tries again (students' everyday words miss "
        "the course's vocabulary); a rescued question always gets the coverage check. "
        "None: never.",
    )
    cache: bool = Field(
        True, description="Answer a question asked before (the same words in the same order, "
        "up to case, punctuation and politeness) from the answer cache, in this version of "
        "the course, with this model and these settings.",
    )
    name_check: bool = Field(
        True, description="Refuse a question that names something the course's text never "
        "uses (a capital inside a word or three in a row: MobileNet, Grad-CAM, RLHF), "
        "whatever its cosine: a near-domain question scores like a covered one.",
    )
    judge: bool = Field(
        True, description="Ask the model whether the sources answer the question before it "
        "answers (one extra token; the sources are evaluated once for both)."
    )
    judge_below: float = Field(
        0.50, ge=-1.0, le=1.0,
        description="Ask that only when the best passage's cosine is below this: above it "
        "retrieval is sure enough, and the check would only add wrong refusals.",
    )
    prompt: PromptStrategyName = Field(
        "default",
        description="Layout of the answer prompt: 'default', or a variant measured against "
        "it and not adopted (docs/experiments.md), kept so `studyhall eval answers` can "
        "rerun it.",
    )
    history_turns: int = Field(4, ge=0, le=20, description="Earlier turns used for follow-ups.")
    max_message_chars: int = Field(
        8000, ge=100, description="Longest message of a conversation a caller sends "
        "(/v1/chat/completions); longer → 413.")
    max_history_chars: int = Field(
        32000, ge=100, description="Most characters of all the messages of one request "
        "together; more → 413.")
    max_waiting: int = Field(
        4, ge=0, le=1000, description="Requests that may wait for the model; more get 503."
    )


class DemoSettings(BaseModel):
    timeout_s: float = Field(
        120.0, gt=0, le=3600, description="A demo run longer than this is cancelled."
    )
    max_waiting: int = Field(
        2, ge=0, le=64, description="Demo runs that may wait for the one running; more → 503."
    )
    keep_days: float = Field(7.0, gt=0, description="Kept demo runs older than this are deleted.")
    keep_mb: float = Field(
        500.0, gt=0, description="Kept demo runs take at most this much disk; the oldest go first.")


class EmbedSettings(BaseModel):
    origins: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Course id → origins allowed to frame its chat (CSP frame-ancestors), "
        'e.g. {"genai-basics": ["https://canvas.example.edu"]}.',
    )
    max_session_messages: int = Field(
        50, ge=1, le=100000,
        description="Questions one conversation may ask; more get 429.",
    )


class AccessSettings(BaseModel):
    default_visibility: Visibility = Field(
        "lms", description="Visibility of a course nobody has set one for (`studyhall course "
        "visibility ID public|lms|private` sets one).")
    limits_url: str | None = Field(
        None, description="Where the rate-limit counters live, so replicas share them: a "
        "redis://host:port/db URL (default: queue_url's Redis when set, else this process's "
        "memory).")
    answers_rate: str = Field(
        "20/minute", description="Answers one caller (an API key, an LTI user, or an "
        "anonymous client address) may ask for (/v1/ask, chat completions, MCP ask_course); "
        "more → 429 with Retry-After. The `limits` notation: N/second|minute|hour|day.")
    search_rate: str = Field(
        "120/minute", description="Searches one caller may make (/v1/search, MCP).")
    demos_rate: str = Field("10/minute", description="Demo runs one caller may start.")
    conversation_retention_days: float | None = Field(
        30, gt=0, description="Stored conversations idle longer than this are deleted, with "
        "their feedback (students' questions are personal data); None: kept.")

    @field_validator("answers_rate", "search_rate", "demos_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        if not _RATE.match(value):
            raise ValueError(f"a rate is N/second, N/minute, N/hour or N/day, got {value!r}")
        return value


class ServerSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Address `studyhall serve` binds.")
    port: int = Field(8000, ge=1, le=65535, description="Port `studyhall serve` binds.")
    warm_up: bool = Field(
        True, description="Load the embedder and every course index at start-up."
    )
    public_url: str | None = Field(
        None, description="Address platforms and browsers reach studyhall at, e.g. "
        "https://studyhall.example.edu (LTI redirect and launch URLs); None: each request's.",
    )
    max_body_bytes: int = Field(
        1 << 20, ge=1024, description="Largest JSON request body accepted (413 above)."
    )
    max_upload_bytes: int = Field(
        50 << 20, ge=1024,
        description="Largest course-file upload (POST /v1/courses/{course}/files), all its "
        "files together (413 above).",
    )
    max_queued_jobs: int = Field(
        20, ge=1, le=100000, description="Ingest (and, apart, eval) jobs that may wait; one "
        "more is refused with 503 and Retry-After.")
    mcp_session_idle_s: float = Field(
        900.0, gt=0, le=86400, description="An MCP session over HTTP idle this long is closed.")
    mcp_max_sessions: int = Field(200, ge=1, le=100000,
                                  description="Open MCP sessions over HTTP at most.")
    admin_token: str | None = Field(
        None, min_length=16,
        description="A secret that opens the instructor endpoints (uploads, ingest and eval "
        "jobs) for every course, sent as `Authorization: Bearer <token>`; None: only an LTI "
        "instructor session opens them, for its own course.",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STUDYHALL_", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Field(
        Path(".studyhall"), description="Where course indexes and databases live."
    )
    models_dir: Path | None = Field(
        None, description="Where model files are assembled (default: <data_dir>/models)."
    )
    queue_url: str | None = Field(
        None, description="Redis (redis://host:port/0) feeding `studyhall worker` processes "
        "with ingest and eval jobs; unset, the serving process runs them itself. Needs "
        "database_url, so that workers and replicas see the same jobs.")
    database_url: str | None = Field(
        None, description="The service's state (conversations, jobs, LTI logins, API keys, "
        "the answer cache): unset, a SQLite file in data_dir; postgresql://user@host/db for "
        "several replicas sharing it.")
    embedder: str = Field(
        "sentence-transformers/all-MiniLM-L6-v2",
        description="Sentence-transformers model: a known packaged name or a local directory.",
    )
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    generator: GeneratorSettings = Field(default_factory=GeneratorSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    demos: DemoSettings = Field(default_factory=DemoSettings)
    embed: EmbedSettings = Field(default_factory=EmbedSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)

    @property
    def courses_dir(self) -> Path:
        return self.data_dir / "courses"

    @property
    def model_store(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    @property
    def demo_runs(self) -> Path:
        """Where finished demo runs (result JSON + figures) are kept, keyed by run id."""
        return self.data_dir / "demo-runs"

    @property
    def sources_dir(self) -> Path:
        """Where files uploaded over HTTP are kept, one folder per course."""
        return self.data_dir / "sources"

    @property
    def shared(self) -> bool:
        """Whether several processes (replicas, workers) share the state: a database URL."""
        return self.database_url is not None

    @property
    def database(self) -> Path | str:
        """What the stores open: the database URL, or the SQLite file in data_dir."""
        return self.database_url or self.data_dir / "studyhall.sqlite"

    @model_validator(mode="after")
    def _queue_needs_database(self) -> Settings:
        if self.queue_url is not None and self.database_url is None:
            raise ValueError("queue_url needs database_url: workers on other machines cannot "
                             "read this machine's SQLite file")
        if self.queue_url is not None and not self.queue_url.startswith(
                ("redis://", "rediss://", "unix://")):
            raise ValueError(f"queue_url must be redis://host:port/db, got {self.queue_url!r}")
        return self

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(
                ("sqlite:///", "postgresql://", "postgresql+psycopg://", "postgres://")):
            raise ValueError("database_url must be sqlite:///path or postgresql://user@host/db, "
                             f"got {value[:40]!r}")
        return value


# --- the settings as documentation (docs/settings.md is this table; a test compares) ---


def setting_fields(model: type[BaseModel] = Settings, prefix: str = "STUDYHALL_"
                   ) -> list[tuple[str, str, str]]:
    """(environment variable, default, description) of every setting, nested groups
    flattened with ``__``, in declaration order."""
    rows: list[tuple[str, str, str]] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows += setting_fields(annotation, f"{prefix}{name.upper()}__")
            continue
        default = info.get_default(call_default_factory=True)
        rows.append((prefix + name.upper(), _shown(default), info.description or ""))
    return rows


def _shown(default: object) -> str:
    if default is None:
        return "(none)"
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, dict | list):
        import json

        return json.dumps(default)
    return str(default)


SETTINGS_PAGE = """# Settings

Every setting of studyhall, from the environment with the prefix `STUDYHALL_`; nested groups
use `__` (`STUDYHALL_RETRIEVAL__MODE=dense`). One pydantic-settings object
(`studyhall/core/settings.py`) reads them. This page is generated from its field
descriptions (`make docs` writes it, `studyhall settings --docs` prints it), and
`tests/test_docs.py` fails when the two differ. `studyhall settings` prints the values in
effect.

Changing the embedder needs `studyhall ingest PATH --course ID --rebuild`: studyhall refuses
to mix vectors of two models and says so.

"""


def settings_page() -> str:
    """docs/settings.md: the page above, then the table of every setting."""
    return SETTINGS_PAGE + markdown_table(Settings)


def markdown_table(model: type[BaseModel] = Settings) -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for variable, default, description in setting_fields(model):
        meaning = description.replace("|", "\\|").replace("<", "&lt;")
        lines.append(f"| `{variable}` | `{default}` | {meaning} |")
    return "\n".join(lines) + "\n"
