"""Grounded answers: retrieve, decide, prompt, stream, cite, remember.

:meth:`AnswerService.prepare` checks a message and returns its turn (a demo request runs
the demo, see :mod:`generator.turns`); an :class:`AnswerTurn` runs these stages, each a
method below:

1. **conversation**: a stored session's recent turns, or the history a stateless caller
   sent; a follow-up ("and its decoder?") is **rewritten** by the model into a
   standalone question, so retrieval sees what it means;
2. **retrieve** (hybrid by default) and ask the gate (:mod:`generator.gate`) what to do:
   refuse without calling the model, **rescue** (the model restates the question in the
   field's usual terms and retrieval tries once more), check coverage first, or answer;
3. **fit** the passages around the hits into the source budget and the context window,
   numbered (:mod:`generator.passages`, :mod:`generator.prompts`);
4. **generate**: the coverage check (one word) and the answer share the prompt up to its
   last instruction, so the model reads the sources once; the answer streams with
   citation markers that point nowhere removed as they appear;
5. **ground**: an answer in which the model says the sources do not cover the question,
   or none of whose sentences a source supports (the model answering from memory), is
   withdrawn and becomes the refusal (the ``done`` event's text replaces what streamed);
   otherwise uncited sentences are attributed and only the cited sources are listed;
6. **remember** the exchange in the conversation store, and the answer in the answer
   cache (:mod:`generator.answer_cache`): the same question again, in this version of the
   course, is answered from there before any retrieval or model call.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field, replace

from demos.registry import DemoRunner, InvalidParameters, UnknownTool
from demos.routing import route
from generator.answer_cache import AnswerCache, generation
from generator.base import GenerationParams, Generator
from generator.citations import CitationStream, attribute, clean, grounded, repeated_from
from generator.conversations import ConversationStore
from generator.gate import CourseGates, Decision, confidence, decide, unknown_names
from generator.passages import build_passages
from generator.prompts import (
    JUDGE,
    PROMPT_VERSION,
    STRATEGIES,
    not_covered_text,
    rewrite_messages,
    source_block,
    terms_messages,
)
from generator.results import Answer, Citation, Event, Suggestion, Timings
from generator.turns import ChatTurn, DemoTurn, citation_records, run_to_answer
from ingest.store import CourseIndex
from retriever.base import Hit
from retriever.service import SearchRequest, SearchService
from studyhall.core.errors import InvalidRequest
from studyhall.core.queue import ModelQueue, Ticket
from studyhall.core.settings import AnswerSettings, Settings

log = logging.getLogger(__name__)

# The model saying its sources do not answer, in its own words.
_REFUSAL = re.compile(
    r"does not cover|doesn't cover|do not cover|not covered|do(?:es)? not (?:contain|mention|say)"
    r"|don't (?:contain|mention)|no information",
    re.IGNORECASE,
)
PROMPT_MARGIN = 48  # tokens for the chat template's own markup
TURN_CHARS = 1500  # of each earlier turn, for rewriting a follow-up


@dataclass(frozen=True)
class Prompt:
    """The numbered sources of one prompt."""

    hits: tuple[Hit, ...] = ()  # the hit each numbered source is cited as
    blocks: tuple[str, ...] = ()  # the sources as the model reads them
    texts: tuple[str, ...] = ()  # their text, for grounding and attribution


@dataclass(frozen=True)
class Retrieval:
    hits: list[Hit]
    confidence: float
    decision: Decision  # REFUSE, CHECK or ANSWER: a rescue has been tried by now
    unknown: tuple[str, ...] = ()  # names in the question the course never uses


@dataclass(frozen=True)
class Reply:
    """What the answer says, before it is timed and remembered."""

    text: str
    refused: bool
    citations: tuple[Citation, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()
    sources_given: int = 0


@dataclass
class _Clock:
    """The request's timings as they happen."""

    started: float
    marks: dict[str, float] = field(default_factory=dict)

    def since_start(self, name: str) -> None:
        self.marks.setdefault(name, _ms(self.started))

    def took(self, name: str, since: float) -> None:
        self.marks[name] = _ms(since)

    def timings(self) -> Timings:
        return Timings(**self.marks, total_ms=_ms(self.started))


class AnswerService:
    def __init__(self, settings: Settings, search: SearchService, generator: Generator,
                 store: ConversationStore | None = None, queue: ModelQueue | None = None,
                 demos: DemoRunner | None = None, cache: AnswerCache | None = None) -> None:
        self.settings = settings
        self.cache = cache if settings.answer.cache else None
        self.demos = demos
        self.search = search
        self.gates = CourseGates()
        self.generator = generator
        self.store = store
        # as many answers at once as the backend writes together (one, unless it batches;
        # asked each time: llama_cpp knows only once its model is loaded)
        self.queue = queue or ModelQueue(settings.answer.max_waiting,
                                         slots=lambda: getattr(generator, "parallel", 1))
        self.params = GenerationParams(max_tokens=settings.generator.max_tokens)
        self.strategy = STRATEGIES[settings.answer.prompt]

    def warm_up(self) -> None:
        """Load the embedder, the indexes and the model, and put the first course's system
        prompt in the model's KV cache."""
        self.search.warm_up()
        self.generator.load()
        for manifest in self.search.courses()[:1]:
            messages = self.strategy.messages(manifest.title, "warm-up", [])
            with closing(self.generator.stream(messages, GenerationParams(max_tokens=1))) as s:
                for _ in s:
                    pass

    # --- one message --------------------------------------------------------------

    def prepare(self, question: str, course: str, *, session_id: str | None = None,
                history: list[tuple[str, str]] | None = None,
                owner: str | None = None, use_cache: bool = True) -> ChatTurn:
        """Check the request and take a place in the model queue, now: a bad question,
        an unknown course or session raise here, and a full queue raises ``Busy``, before
        anything is generated (the API turns these into 4xx/503 before sending a 200).
        A message asking to see a demo gets a :class:`~generator.turns.DemoTurn`.

        A conversation is either stored (``session_id``; a new session when omitted) or
        passed in whole by a stateless caller (``history``: (role, text) pairs, oldest
        first; nothing is stored). A stored session belongs to ``owner``: continuing one of
        someone else's is an unknown session. ``use_cache=False`` answers afresh and keeps
        nothing (an eval measures the model, not the cache).
        """
        started = time.perf_counter()
        request = self.search.validate(question, course, k=self.settings.answer.sources,
                                       field="question")
        if (session_id is not None and self.store is not None
                and self.store.session_course(session_id, owner) != request.course):
            raise InvalidRequest("session_id",
                                 f"session {session_id!r} belongs to another course")
        if self.demos is not None and (demo := route(question)) is not None:
            try:
                self.demos.tool(demo.tool).parse(demo.params)
            except (UnknownTool, InvalidParameters) as exc:
                raise InvalidRequest("question", str(exc)) from None
            return DemoTurn(runner=self.demos, search=self.search, request=demo,
                            question=question, course=request.course, store=self.store,
                            session_id=session_id, owner=owner, started=started)
        return AnswerTurn(service=self, request=request, question=question,
                          session_id=session_id, history=history, owner=owner,
                          ticket=self.queue.enter(), started=started, use_cache=use_cache)

    def ask(self, question: str, course: str, **conversation) -> Answer:
        return self.prepare(question, course, **conversation).run()

    def stream(self, question: str, course: str, *, cancel: threading.Event | None = None,
               **conversation) -> Iterator[Event]:
        """Yield ("sources", the numbered sources) when the model is to read some, then
        ("token", text) pieces, then ("done", Answer)."""
        yield from self.prepare(question, course, **conversation).stream(cancel)

    # --- the stages of an answer ----------------------------------------------------

    def answer(self, turn: AnswerTurn, cancel: threading.Event | None) -> Iterator[Event]:
        """Run every stage for one prepared turn (call it through the turn)."""
        clock = _Clock(turn.started)
        store = self.store if turn.history is None else None
        session_id, turns = self.conversation(turn, store)
        standalone = turn.request.query
        if turns:
            rewrite_started = time.perf_counter()
            with turn.ticket:
                standalone = self.rewrite(turns, turn.request.query, cancel) or standalone
            clock.took("rewrite_ms", rewrite_started)
        generation = self.generation(turn.request.course) if self.caching(turn) else ""
        if (hit := self.cached(turn, generation, standalone, clock)) is not None:
            yield ("sources", hit.citations)
            yield ("token", hit.text)
            answer = replace(hit, question=turn.question, session_id=session_id,
                             timings=clock.timings())
            yield ("done", self.remember(answer, store))
            return
        found = self.retrieve(turn.request, standalone, turn.ticket, cancel, clock)
        if found.decision is Decision.REFUSE:
            reply = self.refusal(found.hits, found.unknown)
            yield ("token", reply.text)
        else:
            reply = yield from self.respond(turn, standalone, found, cancel, clock)
        answer = Answer(
            question=turn.question, standalone_question=standalone, course=turn.request.course,
            text=reply.text, refused=reply.refused, citations=reply.citations,
            suggestions=reply.suggestions, confidence=found.confidence,
            timings=clock.timings(), session_id=session_id, sources_given=reply.sources_given,
        )
        if self.caching(turn) and not (cancel and cancel.is_set()):
            self.cache.put(self.search.index(turn.request.course), generation, answer)
        yield ("done", self.remember(answer, store))

    def conversation(self, turn: AnswerTurn, store: ConversationStore | None
                     ) -> tuple[str | None, list[tuple[str, str]]]:
        """The session (created when a stored conversation starts) and its recent turns."""
        limit = 2 * self.settings.answer.history_turns
        if store is None:
            return turn.session_id, (turn.history or [])[-limit:] if limit else []
        session_id = turn.session_id or store.new_session(turn.request.course, turn.owner)
        return session_id, store.recent_turns(session_id, limit)

    def caching(self, turn: AnswerTurn) -> bool:
        return self.cache is not None and turn.use_cache

    def cached(self, turn: AnswerTurn, generation: str, question: str,
               clock: _Clock) -> Answer | None:
        """The stored answer to this very question in this version of the course, if any."""
        if not self.caching(turn):
            return None
        started = time.perf_counter()
        hit = self.cache.get(self.search.index(turn.request.course), generation, question)
        clock.took("cache_ms", started)
        return hit

    def generation(self, course: str) -> str:
        """What this service's answers in ``course`` depend on, hashed: the model, the prompt
        and the settings (the course's own gate included)."""
        return generation(self.generator.name, PROMPT_VERSION, {
            "answer": self.gate(course).model_dump(exclude={"cache"}),
            "generator": self.settings.generator.model_dump()})

    def gate(self, course: str) -> AnswerSettings:
        """The answer settings with the course's own gate thresholds, if it has them."""
        fit = self.gates.fit(self.search.catalog.course_dir(course))
        return fit.applied(self.settings.answer) if fit else self.settings.answer

    def retrieve(self, request: SearchRequest, question: str, ticket: Ticket,
                 cancel: threading.Event | None, clock: _Clock) -> Retrieval:
        """Search, and when the gate says so, restate the question and search again."""
        started = time.perf_counter()
        hits = self.search.run(replace(request, query=question))
        clock.took("retrieve_ms", started)
        score = confidence(hits)
        gate = self.gate(request.course)
        if gate.name_check:
            unknown = unknown_names(question, self.search.index(request.course).mentions)
            if unknown:
                return Retrieval(hits, score, Decision.REFUSE, tuple(unknown))
        decision = decide(score, rescued=False, settings=gate)
        if decision is not Decision.RESCUE:
            return Retrieval(hits, score, decision)
        rescue_started = time.perf_counter()
        with ticket:
            restated = self.restate(question, cancel)
        found = Retrieval(hits, score, Decision.REFUSE)
        if restated:
            retried = self.search.run(replace(request, query=restated))
            retried_score = confidence(retried)
            after = decide(retried_score, rescued=True, settings=gate)
            if after is not Decision.REFUSE:
                found = Retrieval(retried, retried_score, after)
        clock.took("rescue_ms", rescue_started)
        return found

    def respond(self, turn: AnswerTurn, question: str, found: Retrieval,
                cancel: threading.Event | None, clock: _Clock):
        """Check coverage when the gate asks for it, then generate and ground the answer
        (``yield from`` passes the visible pieces on and returns the :class:`Reply`)."""
        index = self.search.index(turn.request.course)
        title = index.manifest.title
        prompt = self.fit(index, question, found.hits)
        yield ("sources", tuple(Citation(n, hit) for n, hit in enumerate(prompt.hits, start=1)))
        clock.since_start("sources_ms")
        raw, covered = "", True
        # a backend reusing sources' KV may keep it beside this version of the course
        params = (replace(self.params, kv_folder=index.directory / "kv")
                  if self.settings.generator.kv_reuse else self.params)
        with turn.ticket:  # held across both: the check's sources stay in the KV cache
            if found.decision is Decision.CHECK:
                covered = self.covered(title, question, list(prompt.blocks), cancel, params)
            if covered:
                messages = self.strategy.messages(title, question, list(prompt.blocks))
                raw = yield from self.generate(messages, len(prompt.blocks), cancel, clock,
                                               params)
        reply = ground(raw, prompt) if covered else None
        if reply is not None:
            return reply
        refusal = replace(self.refusal(found.hits), sources_given=len(prompt.blocks))
        if not covered:  # nothing streamed yet
            yield ("token", refusal.text)
        return refusal

    def refusal(self, hits: list[Hit], unknown: tuple[str, ...] = ()) -> Reply:
        suggestions = _suggestions(hits)
        return Reply(text=not_covered_text([s.title for s in suggestions], unknown),
                     refused=True, suggestions=suggestions)

    def remember(self, answer: Answer, store: ConversationStore | None) -> Answer:
        if store is None or answer.session_id is None:
            return answer
        store.add_message(answer.session_id, "user", answer.question,
                          standalone=answer.standalone_question)
        message_id = store.add_message(
            answer.session_id, "assistant", answer.text,
            citations=citation_records(answer.citations), refused=answer.refused)
        return replace(answer, message_id=message_id)

    # --- the model calls ----------------------------------------------------------

    def generate(self, messages, n_sources: int, cancel: threading.Event | None,
                 clock: _Clock, params: GenerationParams | None = None):
        """Stream the answer with markers that point nowhere filtered out; return all the
        model wrote (``yield from`` passes the visible pieces on), or, when it starts
        repeating a sentence word for word, what came before and stop generating."""
        citations = CitationStream(n_sources)
        pieces: list[str] = []
        with closing(self.generator.stream(messages, params or self.params, cancel)) as tokens:
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
                    clock.since_start("first_token_ms")
                    yield ("token", visible)
        tail = citations.flush()
        if tail:
            yield ("token", tail)
        return "".join(pieces)

    def covered(self, course_title: str, question: str, blocks: list[str],
                cancel: threading.Event | None, params: GenerationParams | None = None) -> bool:
        """Ask the model whether the sources answer the question (one word)."""
        messages = self.strategy.messages(course_title, question, blocks, JUDGE)
        params = replace(params or self.params, max_tokens=2)
        with closing(self.generator.stream(messages, params, cancel)) as verdict:
            word = "".join(verdict).strip().lower()
        log.debug("coverage verdict %r for %r", word, question)
        return not word.startswith("no")

    def restate(self, question: str, cancel: threading.Event | None) -> str:
        """The question in the field's usual terms, for a second retrieval ("" if unusable)."""
        return self._one_line(terms_messages(question), cancel)

    def rewrite(self, turns: list[tuple[str, str]], question: str,
                cancel: threading.Event | None) -> str:
        """A follow-up as a standalone question ("" if unusable). Each earlier turn is cut
        to its first :data:`TURN_CHARS` characters, and the oldest turns are left out until
        the prompt fits the context window: a caller's history cannot overrun it."""
        room = self.generator.context_window - 64 - PROMPT_MARGIN
        kept = [(role, text[:TURN_CHARS]) for role, text in turns]
        messages = rewrite_messages(kept, question)
        while kept and sum(self.generator.count_tokens(m.content) for m in messages) > room:
            kept = kept[1:]
            messages = rewrite_messages(kept, question)
        return self._one_line(messages, cancel)

    def _one_line(self, messages, cancel: threading.Event | None) -> str:
        params = GenerationParams(max_tokens=64, stop=("\n",))
        with closing(self.generator.stream(messages, params, cancel)) as s:
            text = "".join(s).strip().strip('"')
        return text if 3 <= len(text) <= self.settings.retrieval.max_query_chars else ""

    # --- the prompt ---------------------------------------------------------------

    def fit(self, index: CourseIndex, question: str, hits: list[Hit]) -> Prompt:
        """Passages around the hits, best first, within the source budget and the context
        window; a first passage that alone is too long is cut down rather than dropped."""
        count = self.generator.count_tokens
        room = (self.generator.context_window - self.params.max_tokens - PROMPT_MARGIN
                - self.strategy.overhead(count, index.manifest.title, question) - 16)
        budget = min(self.settings.answer.source_tokens, room)
        passages = self.strategy.order(build_passages(index, hits, count, budget))
        shown, blocks, texts = [], [], []
        for n, passage in enumerate(passages, start=1):
            text, cost = passage.text, count(passage.text)
            if cost > budget:
                text = text[: max(1, int(len(text) * budget / cost) - 8)]
            blocks.append(source_block(n, passage.hit, text))
            shown.append(passage.hit)
            texts.append(text)
        return Prompt(hits=tuple(shown), blocks=tuple(blocks), texts=tuple(texts))


def ground(raw: str, prompt: Prompt) -> Reply | None:
    """The cited answer in what the model wrote, or None when it is no answer from the
    sources: the model said they do not cover it, or no source supports a sentence."""
    n = len(prompt.blocks)
    raw_text, raw_cited = clean(raw.strip(), n)  # a refusal is read before attribution
    if (not raw_cited and _REFUSAL.search(raw_text)) or not grounded(raw_text, prompt.texts):
        return None
    text, cited = clean(attribute(raw_text, prompt.texts), n)
    return Reply(text=text, refused=False, sources_given=n,
                 citations=tuple(Citation(k, prompt.hits[k - 1]) for k in sorted(cited)))


@dataclass(frozen=True)
class AnswerTurn:
    """A validated question holding its place in the model queue. Run or stream it once;
    the place is given up when it ends, or by :meth:`abandon` if it never starts."""

    service: AnswerService
    request: SearchRequest
    question: str
    session_id: str | None
    history: list[tuple[str, str]] | None
    owner: str | None
    ticket: Ticket
    started: float
    use_cache: bool = True

    def stream(self, cancel: threading.Event | None = None) -> Iterator[Event]:
        self.ticket.cancel = cancel  # a caller gone while it waits gives its place up
        try:
            yield from self.service.answer(self, cancel)
        finally:
            self.ticket.leave()

    def run(self) -> Answer:
        return run_to_answer(self)

    def abandon(self) -> None:
        self.ticket.leave()


def _suggestions(hits: list[Hit], limit: int = 3) -> tuple[Suggestion, ...]:
    """The closest lessons: the first hit of each source file, best first (one per title:
    two files of one title read as the same lesson twice)."""
    seen, out = set(), []
    for hit in hits:
        if hit.chunk.source not in seen and hit.chunk.title not in seen:
            seen.update((hit.chunk.source, hit.chunk.title))
            out.append(Suggestion(title=hit.chunk.title, source=hit.chunk.source,
                                  location=hit.chunk.location))
        if len(out) == limit:
            break
    return tuple(out)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


__all__ = ["Answer", "AnswerService", "AnswerTurn", "Prompt", "Reply", "ground"]
