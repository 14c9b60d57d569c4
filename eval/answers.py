"""Answer evaluation: is the answer right, cited, and does it decline what the course
does not cover?

Per answerable question:

- **key-fact recall**: the share of its key facts the answer states. A fact counts as
  stated when at least 60% of its content words (lower-cased, Snowball-stemmed, stop
  words dropped) occur in the answer: lenient to paraphrase, strict about the words
  that carry the fact ("1997", "Hochreiter").
- **citation correct**: at least one cited source is a gold passage (its source and
  section match a gold anchor) or states a key fact.
- **correct**: not refused, at least half the key facts stated, and a correct citation.
- **answered right**: the same without the citation (for comparing with a system that
  does not cite, such as the peer baseline in ``eval/peer.py``).
- **over-refusal**: the assistant declined although the course covers it.

Per answer given (not refused): **faithfulness**, after ragas' definition (the share of
the answer's claims the retrieved context supports), with sentences as the claims and a
lexical test of support: a sentence is supported when a passage it cites holds at least
half its content words. A sentence that cites nothing is unsupported; sentences under
three content words are not judged. It is a proxy: it catches answers from memory and
wrong citations, not a wrong inference from right words.

Refusal, with "out of course" as the positive class: **refusal recall** = out-of-course
questions declined / out-of-course questions (``refusal_rate``); **refusal precision** =
out-of-course questions declined / all questions declined. Latency: first token and
total, p50/p95.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from eval.datasets import Question
from eval.metrics import mean, percentile
from generator.citations import sentence_support
from ingest.lexical import tokenize

FACT_WORDS_PRESENT = 0.6
SENTENCE_SUPPORTED = 0.5


def content_words(text: str) -> set[str]:
    return set(tokenize([text])[0])


def fact_stated(fact: str, answer_words: set[str]) -> bool:
    words = content_words(fact)
    return bool(words) and len(words & answer_words) / len(words) >= FACT_WORDS_PRESENT


@dataclass
class AnswerRecord:
    id: str
    question: str
    answerable: bool
    tags: list[str]
    answer: str
    refused: bool
    cited: list[str]
    key_fact_recall: float | None = None
    citation_correct: bool | None = None
    correct: bool | None = None
    answered_right: bool | None = None  # correct, citation not required
    faithfulness: float | None = None  # answers given only
    first_token_ms: float | None = None
    total_ms: float = 0.0


@dataclass
class AnswerReport:
    answerable: int
    unanswerable: int
    correct_with_citation: float
    answered_right: float
    over_refusal: float
    key_fact_recall: float
    citation_precision: float
    faithfulness: float
    refusal_rate: float  # refusal recall
    refusal_precision: float
    first_token_ms_p50: float | None
    first_token_ms_p95: float | None
    total_ms_p50: float
    total_ms_p95: float
    records: list[AnswerRecord] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def table(self) -> str:
        def ms(v):
            return "–" if v is None else f"{v / 1000:.1f} s"

        rows = [
            ("answerable questions answered correctly, with a correct citation",
             f"{self.correct_with_citation:.1%} of {self.answerable}"),
            ("answerable questions answered correctly (citation not required)",
             f"{self.answered_right:.1%}"),
            ("answerable questions wrongly refused", f"{self.over_refusal:.1%}"),
            ("key-fact recall (answerable)", f"{self.key_fact_recall:.1%}"),
            ("citation precision (cited sources that hold the answer)",
             f"{self.citation_precision:.1%}"),
            ("faithfulness (answer sentences a cited passage supports)",
             f"{self.faithfulness:.1%}"),
            ("out-of-course questions refused (refusal recall)",
             f"{self.refusal_rate:.1%} of {self.unanswerable}"),
            ("refusals that were out-of-course questions (refusal precision)",
             f"{self.refusal_precision:.1%}"),
            ("first token p50 / p95",
             f"{ms(self.first_token_ms_p50)} / {ms(self.first_token_ms_p95)}"),
            ("whole answer p50 / p95", f"{ms(self.total_ms_p50)} / {ms(self.total_ms_p95)}"),
        ]
        return "\n".join(["| measure | value |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows])


def judge(question: Question, answer) -> AnswerRecord:
    """Score one answer (a :class:`generator.results.Answer`, or an answer of the same
    shape: text, refused, citations, timings) against its question."""
    record = AnswerRecord(
        id=question.id, question=question.question, answerable=question.answerable,
        tags=list(question.tags), answer=answer.text, refused=answer.refused,
        cited=[hit.chunk.location for _, hit in answer.citations],
        first_token_ms=answer.timings.first_token_ms,
        total_ms=answer.timings.total_ms or 0.0,
    )
    if not answer.refused:
        shares = [x for x in sentence_support(
            answer.text, {n: hit.chunk.text for n, hit in answer.citations}) if x is not None]
        record.faithfulness = (mean([float(x >= SENTENCE_SUPPORTED) for x in shares])
                               if shares else None)
    if not question.answerable:
        return record
    words = content_words(answer.text)
    stated = [fact_stated(fact, words) for fact in question.key_facts]
    record.key_fact_recall = mean([float(s) for s in stated])
    record.citation_correct = any(
        question.is_relevant(hit.chunk)
        or any(fact_stated(f, content_words(hit.chunk.text)) for f in question.key_facts)
        for _, hit in answer.citations
    )
    record.answered_right = not answer.refused and record.key_fact_recall >= 0.5
    record.correct = record.answered_right and record.citation_correct
    return record


def _cited_precision(records: list[AnswerRecord], answers: dict[str, object],
                     questions: dict[str, Question]) -> float:
    good = total = 0
    for record in records:
        if not record.answerable or record.refused:
            continue
        question = questions[record.id]
        for _, hit in answers[record.id].citations:
            total += 1
            good += question.is_relevant(hit.chunk) or any(
                fact_stated(f, content_words(hit.chunk.text)) for f in question.key_facts
            )
    return good / total if total else 0.0


def evaluate_answers(
    ask: Callable[[Question], object],
    questions: list[Question],
    *,
    progress: Callable[[int, int, AnswerRecord], None] | None = None,
) -> AnswerReport:
    """Ask every question (``ask(question) -> Answer``; a follow-up carries its ``turns``)
    and score the answers."""
    records, answers = [], {}
    for n, question in enumerate(questions, start=1):
        started = time.perf_counter()
        answer = ask(question)
        answers[question.id] = answer
        record = judge(question, answer)
        record.total_ms = record.total_ms or (time.perf_counter() - started) * 1000
        records.append(record)
        if progress:
            progress(n, len(questions), record)
    answerable = [r for r in records if r.answerable]
    outside = [r for r in records if not r.answerable]
    first = [r.first_token_ms for r in records if r.first_token_ms is not None]
    totals = [r.total_ms for r in records]
    return AnswerReport(
        answerable=len(answerable),
        unanswerable=len(outside),
        correct_with_citation=mean([float(bool(r.correct)) for r in answerable]),
        answered_right=mean([float(bool(r.answered_right)) for r in answerable]),
        over_refusal=mean([float(r.refused) for r in answerable]),
        key_fact_recall=mean([r.key_fact_recall or 0.0 for r in answerable]),
        citation_precision=_cited_precision(records, answers, {q.id: q for q in questions}),
        faithfulness=mean([r.faithfulness for r in records if r.faithfulness is not None]),
        refusal_rate=mean([float(r.refused) for r in outside]),
        refusal_precision=(sum(r.refused for r in outside)
                           / max(1, sum(r.refused for r in records))),
        first_token_ms_p50=percentile(first, 0.5),
        first_token_ms_p95=percentile(first, 0.95),
        total_ms_p50=percentile(totals, 0.5) or 0.0,
        total_ms_p95=percentile(totals, 0.95) or 0.0,
        records=records,
    )
