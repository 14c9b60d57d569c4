"""A demo run as a chat turn: same interface as an answer turn (``stream`` / ``run`` /
``abandon``), and its answer carries the run's numbers, its figures and a citation to the
lesson the demo illustrates, found in the course's own index."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from demos.registry import DemoRunner, ToolRun
from demos.routing import DemoRequest
from generator.answer import Answer, Event
from retriever.base import Hit
from retriever.service import SearchService


def figure_url(run_id: str, name: str) -> str:
    return f"/v1/tools/runs/{run_id}/figures/{name}.png"


def _metric(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"


def demo_text(run: ToolRun, cited: bool) -> str:
    """The explanation, then the final numbers; [1] marks the lesson when it is cited."""
    numbers = ", ".join(f"{k.replace('_', ' ')} {_metric(v)}"
                        for k, v in run.result.metrics.items())
    marker = " [1]" if cited else ""
    return f"{run.result.explanation}{marker}\n\nFinal numbers: {numbers}."


def lesson_hit(search: SearchService, course: str, lesson: str, query: str) -> Hit | None:
    """The passage of ``lesson`` closest to ``query`` in this course, if the course has it."""
    if lesson not in search.index(course).manifest.files:
        return None
    hits = search.search(query, course, k=1, documents=[lesson])
    return hits[0] if hits else None


@dataclass
class DemoTurn:
    runner: DemoRunner
    search: SearchService
    request: DemoRequest
    question: str
    course: str
    store: Any  # ConversationStore | None
    session_id: str | None
    started: float

    def stream(self, cancel: threading.Event | None = None) -> Iterator[Event]:
        timings: dict[str, float | None] = {"retrieve_ms": None, "first_token_ms": None}
        stop = cancel.is_set if cancel is not None else None
        run = self.runner.run(self.request.tool, self.request.params, cancel=stop)
        hit = lesson_hit(self.search, self.course, run.result.lesson,
                         f"{self.request.tool} {run.result.explanation}")
        text = demo_text(run, cited=hit is not None)
        timings["first_token_ms"] = timings["total_ms"] = _ms(self.started)
        yield ("token", text)
        answer = Answer(self.question, self.question, self.course, text, False,
                        [(1, hit)] if hit else [], [], 1.0, timings)
        answer.demo = run.to_dict(figure_url)
        session_id = self.session_id
        if self.store is not None:
            session_id = session_id or self.store.new_session(self.course)
            self.store.add_message(session_id, "user", self.question)
            answer.message_id = self.store.add_message(
                session_id, "assistant", text, citations=answer.citation_dicts())
        answer.session_id = session_id
        yield ("done", answer)

    def run(self) -> Answer:
        for kind, payload in self.stream():
            if kind == "done":
                return payload
        raise RuntimeError("demo turn ended without a result")  # pragma: no cover

    def abandon(self) -> None:
        """Nothing is held before the run starts (the runner queues inside ``run``)."""


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)
