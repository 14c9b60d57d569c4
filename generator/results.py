"""What a chat turn returns: an :class:`Answer`, frozen and built by keyword.

The wire format is not here: ``api/schemas.py`` turns these into the JSON the HTTP API,
the MCP server and ``studyhall ask --json`` return.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, NamedTuple

from retriever.base import Hit

if TYPE_CHECKING:
    from demos.registry import ToolRun


class Citation(NamedTuple):
    """Source ``n`` of the prompt, and the hit it was."""

    n: int
    hit: Hit


@dataclass(frozen=True)
class Suggestion:
    """A lesson close to a question the course does not cover."""

    title: str
    source: str
    location: str


@dataclass(frozen=True)
class Timings:
    """Milliseconds since the request, or spent in one step; None when it did not happen."""

    cache_ms: float | None = None  # looking the question up in the answer cache
    retrieve_ms: float | None = None
    sources_ms: float | None = None  # the sources the model reads, sent before its answer
    rewrite_ms: float | None = None  # a follow-up rewritten into a standalone question
    rescue_ms: float | None = None  # a low-confidence question restated and searched again
    first_token_ms: float | None = None  # None when nothing was generated
    total_ms: float | None = None


@dataclass(frozen=True)
class Answer:
    question: str
    standalone_question: str  # what retrieval saw (a follow-up, rewritten)
    course: str
    text: str
    refused: bool
    citations: tuple[Citation, ...] = ()  # only the sources the text cites
    suggestions: tuple[Suggestion, ...] = ()  # the closest lessons, when refused
    confidence: float = 0.0  # the best passage's cosine to the question
    timings: Timings = field(default_factory=Timings)
    session_id: str | None = None
    message_id: int | None = None
    sources_given: int = 0  # sources the model was shown
    demo: ToolRun | None = None  # a demo run, when the message asked to see one
    cached: bool = False  # served from the answer cache: the same question, answered before


# ("sources", the numbered Citations the model is about to read: sent before it answers),
# ("token", text) pieces of the answer, then ("done", Answer)
Event = tuple[Literal["sources", "token", "done"], "tuple[Citation, ...] | str | Answer"]
