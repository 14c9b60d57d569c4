"""Grounded answers: retrieve, decide, prompt, stream, cite, remember.

1. The question is validated like a search (empty, too long, unknown course).
2. In a conversation, a follow-up ("and its decoder?") is first rewritten by the model
   into a standalone question, using the recent turns, so retrieval sees what it means.
3. Retrieval (hybrid by default) finds the passages. If the best passage's cosine to the
   question is below ``rescue_above`` the course is taken not to cover it: the answer
   says so and names the closest lessons, without calling the model (fast). Between
   that and ``min_confidence`` the model restates the question in the field's usual
   terms and retrieval tries once more; still below, the same refusal. Between
   ``min_confidence`` and ``judge_below`` (and for a restated question) the model is
   first asked whether the sources answer it.
4. Otherwise the passages go to the model as numbered sources, trimmed so the prompt
   and the answer fit the model's context window, and the answer streams back with
   citation markers that point nowhere removed as they appear.
5. The final answer lists only the sources it cites. An answer in which the model says
   the sources do not cover the question, or none of whose sentences a source supports
   (the model answering from memory), is withdrawn and marked ``refused``; the ``done``
   event's text is then the refusal, which replaces what was streamed.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field, replace
from typing import Literal

from demos.registry import DemoRunner, InvalidParameters, UnknownTool
from demos.routing import route
from generator.base import GenerationParams, Generator
from generator.citations import CitationStream, attribute, clean, grounded, repeated_from
from generator.conversations import ConversationStore, UnknownSession
from generator.passages import build_passages
from generator.prompts import (
    JUDGE,
    NOT_COVERED,
    REMINDER,
    answer_messages,
    not_covered_text,
    rewrite_messages,
    source_block,
    system_prompt,
    terms_messages,
)
from generator.queue import ModelQueue, Ticket
from ingest.store import CourseIndex
from retriever.base import Hit, hit_to_dict
from retriever.service import InvalidRequest, SearchService
from studyhall.settings import Settings

log = logging.getLogger(__name__)

_REFUSAL = re.compile(
    r"does not cover|doesn't cover|do not cover|not covered|do(?:es)? not (?:contain|mention|say)"
    r"|don't (?:contain|mention)|no information",
    re.IGNORECASE,
)
PROMPT_MARGIN = 48  # tokens for the chat template's own markup


@dataclass
class Answer:
    question: str
    standalone_question: str
    course: str
    text: str
    refused: bool
    citations: list[tuple[int, Hit]]
    suggestions: list[dict]
    confidence: float
    timings: dict[str, float | None]
    session_id: str | None = None
    message_id: int | None = None
    sources_given: int = 0
    demo: dict | None = None  # a demo run's result, when the message asked to see one

    def citation_dicts(self) -> list[dict]:
        return [{"n": n, **hit_to_dict(hit)} for n, hit in self.citations]

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "course": self.course,
            "answer": self.text,
            "refused": self.refused,
            "citations": self.citation_dicts(),
            "suggestions": self.suggestions,
            "confidence": round(self.confidence, 4),
            "timings": self.timings,
            "session_id": self.session_id,
            "message_id": self.message_id,
            **({"demo": self.demo} if self.demo is not None else {}),
        }


Event = tuple[Literal["token", "done"], "str | Answer"]


@dataclass
class _Prompt:
    hits: list[Hit]  # the hit each numbered source is cited as
    blocks: list[str] = field(default_factory=list)  # the numbered sources as shown
    texts: list[str] = field(default_factory=list)  # their text, for attribution


class AnswerService:
    def __init__(self, settings: Settings, search: SearchService, generator: Generator,
                 store: ConversationStore | None = None, queue: ModelQueue | None = None,
                 demos: DemoRunner | None = None) -> None:
        self.settings = settings
        self.demos = demos
        self.search = search
        self.generator = generator
        self.store = store
        self.queue = queue or ModelQueue(settings.answer.max_waiting)
        self.params = GenerationParams(max_tokens=settings.generator.max_tokens)

    def warm_up(self) -> None:
        """Load the embedder, the indexes and the model, and put the first course's system
        prompt in the model's KV cache."""
        self.search.warm_up()
        self.generator.load()
        for manifest in self.search.courses()[:1]:
            messages = answer_messages(manifest.title, "warm-up", [])
            with closing(self.generator.stream(messages, GenerationParams(max_tokens=1))) as s:
                for _ in s:
                    pass

    # --- one question -------------------------------------------------------------

    def prepare(self, question: str, course: str, *, session_id: str | None = None,
                history: list[tuple[str, str]] | None = None) -> Turn:
        """Check the request and take a place in the model queue, now: a bad question,
        an unknown course or session raise here, and a full queue raises ``Busy``, before
        anything is generated (the API turns these into 4xx/503 before sending a 200).

        A conversation is either stored (``session_id``; a new session when omitted) or
        passed in whole by a stateless caller (``history``: (role, text) pairs, oldest
        first; nothing is stored).
        """
        started = time.perf_counter()
        request = self.search.validate(question, course, k=self.settings.answer.sources)
        if self.demos is not None and (demo := route(question)) is not None:
            return self._demo_turn(demo, request, question, session_id, started)
        if (session_id is not None and self.store is not None
                and self.store.session_course(session_id) != request.course):
            raise InvalidRequest("session_id",
                                 f"session {session_id!r} belongs to another course")
        return Turn(self, request, question, session_id, history, self.queue.enter(), started)

    def _demo_turn(self, demo, request, question: str, session_id: str | None,
                   started: float):
        """A message asking to see a model learn runs that demo instead of answering."""
        from demos.chat import DemoTurn

        try:
            self.demos.tool(demo.tool).parse(demo.params)
        except (UnknownTool, InvalidParameters) as exc:
            raise InvalidRequest("question", str(exc)) from None
        return DemoTurn(self.demos, self.search, demo, question, request.course,
                        self.store, session_id, started)

    def ask(self, question: str, course: str, **conversation) -> Answer:
        return self.prepare(question, course, **conversation).run()

    def stream(self, question: str, course: str, *, cancel: threading.Event | None = None,
               **conversation) -> Iterator[Event]:
        """Yield ("token", text) pieces, then ("done", Answer)."""
        yield from self.prepare(question, course, **conversation).stream(cancel)

    def _answer(self, request, question: str, session_id: str | None,
                history: list[tuple[str, str]] | None, ticket: Ticket,
                cancel: threading.Event | None, started: float) -> Iterator[Event]:
        timings: dict[str, float | None] = {"rewrite_ms": None, "first_token_ms": None}
        turns = history[-2 * self.settings.answer.history_turns:] if history else []
        store = self.store if history is None else None
        if store is not None:
            if session_id is None:
                session_id = store.new_session(request.course)
            turns = store.recent_turns(session_id, 2 * self.settings.answer.history_turns)

        standalone = request.query
        if turns:
            rewrite_started = time.perf_counter()
            with ticket:
                standalone = self._rewrite(turns, request.query, cancel) or request.query
            timings["rewrite_ms"] = _ms(rewrite_started)

        retrieve_started = time.perf_counter()
        hits = self.search.run(_with_query(request, standalone))
        timings["retrieve_ms"] = _ms(retrieve_started)
        confidence = _confidence(hits)
        rescued = False
        answer_settings = self.settings.answer
        if (answer_settings.rescue_above is not None
                and answer_settings.rescue_above <= confidence < answer_settings.min_confidence):
            rescue_started = time.perf_counter()
            with ticket:
                restated = self._restate(standalone, cancel)
            if restated:
                retried = self.search.run(_with_query(request, restated))
                if _confidence(retried) >= answer_settings.min_confidence:
                    hits, confidence, rescued = retried, _confidence(retried), True
            timings["rescue_ms"] = _ms(rescue_started)
        index = self.search.index(request.course)
        title = index.manifest.title
        suggestions = _suggestions(hits)

        def refusal() -> Answer:
            text = not_covered_text([s["title"] for s in suggestions])
            return Answer(question, standalone, request.course, text, True, [], suggestions,
                          confidence, timings)

        if confidence < self.settings.answer.min_confidence:  # the gate: no model call
            answer = refusal()
            yield ("token", answer.text)
        else:
            prompt = self._fit(index, standalone, hits)
            with ticket:
                covered = (not answer_settings.judge
                           or (confidence >= answer_settings.judge_below and not rescued)
                           or self._covered(title, standalone, prompt.blocks, cancel))
                raw = ""
                if covered:
                    messages = answer_messages(title, standalone, prompt.blocks)
                    raw = yield from self._generate(messages, len(prompt.blocks), cancel,
                                                    timings, started)
            # A refusal is read off what the model wrote, before any citation is attributed.
            raw_text, raw_cited = clean(raw.strip(), len(prompt.blocks))
            said_not_covered = not raw_cited and _REFUSAL.search(raw_text)
            if not covered or said_not_covered or not grounded(raw_text, prompt.texts):
                answer = refusal()
                answer.sources_given = len(prompt.blocks)
                if not covered:
                    yield ("token", answer.text)
            else:
                text, cited = clean(attribute(raw_text, prompt.texts), len(prompt.blocks))
                answer = Answer(
                    question, standalone, request.course, text, False,
                    [(n, prompt.hits[n - 1]) for n in sorted(cited)], [], confidence,
                    timings, sources_given=len(prompt.blocks),
                )
        timings["total_ms"] = _ms(started)
        answer.session_id = session_id
        if store is not None and session_id is not None:
            store.add_message(session_id, "user", question, standalone=standalone)
            answer.message_id = store.add_message(
                session_id, "assistant", answer.text, citations=answer.citation_dicts(),
                refused=answer.refused,
            )
        yield ("done", answer)

    def _generate(self, messages, n_sources: int, cancel: threading.Event | None,
                  timings: dict, started: float):
        """Stream the answer with markers that point nowhere filtered out; return all the
        model wrote (``yield from`` passes the visible pieces on), or, when it starts
        repeating a sentence word for word, what came before and stop generating."""
        citations = CitationStream(n_sources)
        pieces: list[str] = []
        with closing(self.generator.stream(messages, self.params, cancel)) as tokens:
            for token in tokens:
                pieces.append(token)
                if re.search(r"[.!?]", token):  # a sentence may have ended: a loop?
                    written = "".join(pieces)
                    loop = repeated_from(written)
                    if loop is not None:
                        log.debug("stopped a repeating answer at %d characters", loop)
                        return written[:loop]
                visible = citations.feed(token)
                if visible:
                    if timings["first_token_ms"] is None:
                        timings["first_token_ms"] = _ms(started)
                    yield ("token", visible)
        tail = citations.flush()
        if tail:
            yield ("token", tail)
        return "".join(pieces)

    def _covered(self, course_title: str, question: str, blocks: list[str],
                 cancel: threading.Event | None) -> bool:
        """Ask the model whether the sources answer the question (one word)."""
        messages = answer_messages(course_title, question, blocks, JUDGE)
        params = GenerationParams(max_tokens=2)
        with closing(self.generator.stream(messages, params, cancel)) as verdict:
            word = "".join(verdict).strip().lower()
        log.debug("coverage verdict %r for %r", word, question)
        return not word.startswith("no")

    def _restate(self, question: str, cancel: threading.Event | None) -> str:
        """The question in the field's usual terms, for a second retrieval ("" if unusable)."""
        return self._one_line(terms_messages(question), cancel)

    def _rewrite(self, turns: list[tuple[str, str]], question: str,
                 cancel: threading.Event | None) -> str:
        """A follow-up as a standalone question ("" if unusable)."""
        return self._one_line(rewrite_messages(turns, question), cancel)

    def _one_line(self, messages, cancel: threading.Event | None) -> str:
        params = GenerationParams(max_tokens=64, stop=("\n",))
        with closing(self.generator.stream(messages, params, cancel)) as s:
            text = "".join(s).strip().strip('"')
        return text if 3 <= len(text) <= self.settings.retrieval.max_query_chars else ""

    def _fit(self, index: CourseIndex, question: str, hits: list[Hit]) -> _Prompt:
        """Passages around the hits, best first, within the source budget and the context
        window; a first passage that alone is too long is cut down rather than dropped."""
        count = self.generator.count_tokens
        room = (self.generator.context_window - self.params.max_tokens - PROMPT_MARGIN
                - count(system_prompt(index.manifest.title)) - count(question)
                - count(REMINDER) - 16)
        budget = min(self.settings.answer.source_tokens, room)
        prompt = _Prompt(hits=[])
        for n, passage in enumerate(build_passages(index, hits, count, budget), start=1):
            text, cost = passage.text, count(passage.text)
            if cost > budget:
                text = text[: max(1, int(len(text) * budget / cost) - 8)]
            prompt.blocks.append(source_block(n, passage.hit, text))
            prompt.hits.append(passage.hit)
            prompt.texts.append(text)
        return prompt


@dataclass
class Turn:
    """A validated question holding its place in the model queue. Run or stream it once;
    the place is given up when it ends, or by :meth:`abandon` if it never starts."""

    service: AnswerService
    request: object
    question: str
    session_id: str | None
    history: list[tuple[str, str]] | None
    ticket: Ticket
    started: float

    def stream(self, cancel: threading.Event | None = None) -> Iterator[Event]:
        try:
            yield from self.service._answer(self.request, self.question, self.session_id,
                                            self.history, self.ticket, cancel, self.started)
        finally:
            self.ticket.leave()

    def run(self) -> Answer:
        for kind, payload in self.stream():
            if kind == "done":
                return payload
        raise RuntimeError("answer stream ended without a result")  # pragma: no cover

    def abandon(self) -> None:
        self.ticket.leave()


def build_answer_service(settings: Settings, search: SearchService,
                         demos: DemoRunner | None = None) -> AnswerService:
    """The answer service the CLI and the API use: the configured backend and model, the
    conversation store in the data directory, and the demos the chat can run."""
    from demos.registry import build_runner
    from generator.backends import build_generator

    generator = build_generator(settings.generator, settings.model_store)
    return AnswerService(settings, search, generator, ConversationStore(settings.database),
                         demos=demos or build_runner(settings))


def _confidence(hits: list[Hit]) -> float:
    """The best hit's cosine to the query: what the gate compares with min_confidence."""
    return max((h.dense_score for h in hits if h.dense_score is not None), default=-1.0)


def _with_query(request, query: str):
    return replace(request, query=query)


def _suggestions(hits: list[Hit], limit: int = 3) -> list[dict]:
    seen, out = set(), []
    for hit in hits:
        if hit.chunk.source not in seen:
            seen.add(hit.chunk.source)
            out.append({"title": hit.chunk.title, "source": hit.chunk.source,
                        "location": hit.chunk.location})
        if len(out) == limit:
            break
    return out


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


__all__ = ["Answer", "AnswerService", "NOT_COVERED", "Turn", "UnknownSession"]
