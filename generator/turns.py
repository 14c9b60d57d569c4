"""A chat turn: a checked message holding whatever it needs to run, streamed or run once.

:meth:`generator.answer.AnswerService.prepare` is the one place that chooses between the
two kinds: an :class:`~generator.answer.AnswerTurn` (a grounded answer from the course)
and a :class:`DemoTurn` (a message asking to see a model learn runs that demo; its answer
carries the run's numbers, its figures and a citation to the lesson the demo illustrates,
found in the course's own index).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from demos.registry import DemoRunner
from demos.routing import DemoRequest
from generator.conversations import ConversationStore
from generator.results import Answer, Citation, Event, Timings
from retriever.base import Hit
from retriever.service import SearchService


class ChatTurn(Protocol):
    def stream(self, cancel: threading.Event | None = None) -> Iterator[Event]:
        """Yield ("sources", citations) before the model reads them (answers only), then
        ("token", text) pieces, then ("done", Answer)."""
        ...

    def run(self) -> Answer: ...

    def abandon(self) -> None:
        """Give up what the turn holds, if it never runs."""
        ...


def run_to_answer(turn: ChatTurn) -> Answer:
    """Run a turn to the end and return its answer."""
    for kind, payload in turn.stream():
        if kind == "done":
            return payload
    raise RuntimeError("a chat turn ended without a result")  # pragma: no cover


def lesson_hit(search: SearchService, course: str, lesson: str, query: str) -> Hit | None:
    """The passage of ``lesson`` closest to ``query`` in this course, if the course has it."""
    if lesson not in search.index(course).manifest.files:
        return None
    hits = search.search(query, course, k=1, documents=[lesson])
    return hits[0] if hits else None


@dataclass(frozen=True)
class DemoTurn:
    runner: DemoRunner
    search: SearchService
    request: DemoRequest
    question: str
    course: str
    store: ConversationStore | None
    session_id: str | None
    owner: str | None
    started: float

    def stream(self, cancel: threading.Event | None = None) -> Iterator[Event]:
        stop = cancel.is_set if cancel is not None else None
        run = self.runner.run(self.request.tool, self.request.params, cancel=stop)
        hit = lesson_hit(self.search, self.course, run.result.lesson,
                         f"{self.request.tool} {run.result.explanation}")
        text = run.text(cited=hit is not None)
        elapsed = round((time.perf_counter() - self.started) * 1000, 1)
        yield ("token", text)
        citations = (Citation(1, hit),) if hit else ()
        session_id, message_id = self.session_id, None
        if self.store is not None:
            session_id = session_id or self.store.new_session(self.course, self.owner)
            self.store.add_message(session_id, "user", self.question)
            message_id = self.store.add_message(
                session_id, "assistant", text, citations=citation_records(citations))
        yield ("done", Answer(
            question=self.question, standalone_question=self.question, course=self.course,
            text=text, refused=False, citations=citations, confidence=1.0,
            timings=Timings(first_token_ms=elapsed, total_ms=elapsed),
            session_id=session_id, message_id=message_id, demo=run,
        ))

    def run(self) -> Answer:
        return run_to_answer(self)

    def abandon(self) -> None:
        """Nothing is held before the run starts (the runner queues inside ``run``)."""


def citation_records(citations: tuple[Citation, ...]) -> list[dict]:
    """What a stored message keeps of its citations: enough to show them again."""
    return [{"n": c.n, "chunk_id": c.hit.chunk.id, "source": c.hit.chunk.source,
             "location": c.hit.chunk.location, "title": c.hit.chunk.title}
            for c in citations]
