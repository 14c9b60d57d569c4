"""Answers to questions already asked, served again in milliseconds (``answer_cache`` in
the service's database, so every replica serves what any of them stored).

A stored answer is served only for *the same question*: the same words in the same order
once case, punctuation, contractions and politeness are set aside (:func:`question_key`).
Nothing looser: on 110 labelled near-miss pairs (questions differing in one concept:
generator vs discriminator, "X to Y" vs "Y to X", 1958 vs 1943) the embedder's cosine put
ten pairs above 0.99, so no similarity threshold is safe, and a cached answer to the wrong
question is worse than a slow right one (docs/measurements.md, "The answer cache").

An entry is keyed by course, the published index version it was answered from, and the
generation: a hash of the model, the prompt version and every answer setting the course
applies. Publishing a new version empties the course's entries (the first lookup under
the new version deletes the old ones); a changed model or setting never finds them.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, func, select

from generator.results import Answer, Citation, Suggestion
from ingest.store import CourseIndex
from retriever.base import Hit
from studyhall.core.database import Database
from studyhall.core.schema import answer_cache, answer_cache_stats

_CONTRACTIONS = {
    "what's": "what is", "who's": "who is", "how's": "how is", "where's": "where is",
    "when's": "when is", "that's": "that is", "there's": "there is", "it's": "it is",
    "isn't": "is not", "aren't": "are not", "doesn't": "does not", "don't": "do not",
    "didn't": "did not", "can't": "can not", "cannot": "can not", "won't": "will not",
    "wasn't": "was not", "weren't": "were not",
}
_CONTRACTION = re.compile(r"\b(" + "|".join(map(re.escape, _CONTRACTIONS)) + r")\b")
_WORD = re.compile(r"\w+(?:[-'.]\w+)*")
# words that ask politely or point, never what is asked (not, before, why, numbers all stay)
_FILLER = frozenset((
    "a", "an", "the", "please", "can", "could", "would", "you", "tell", "me", "explain",
    "kindly", "hi", "hello", "hey", "thanks", "thank", "i", "just", "quick", "question",
))


def question_key(question: str) -> str:
    """The question with what does not change its meaning taken out: Unicode forms, case,
    punctuation, contractions ("what's" → "what is"), articles and politeness. Two questions
    share a key only when their remaining words are the same, in the same order."""
    text = unicodedata.normalize("NFKC", question).casefold().replace("\u2019", "'")
    text = _CONTRACTION.sub(lambda m: _CONTRACTIONS[m.group(1)], text)
    return " ".join(w for w in _WORD.findall(text) if w not in _FILLER)


def generation(model: str, prompt_version: str, settings: dict) -> str:
    """What makes an answer: the model, the prompt and the settings, as one short hash."""
    blob = json.dumps({"model": model, "prompt": prompt_version, "settings": settings},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CacheStats:
    course: str
    hits: int
    misses: int

    @property
    def hit_rate(self) -> float:
        asked = self.hits + self.misses
        return self.hits / asked if asked else 0.0


class AnswerCache:
    def __init__(self, database: Database | Path | str) -> None:
        self.db = Database.of(database)

    def get(self, index: CourseIndex, generation: str, question: str) -> Answer | None:
        """The stored answer to ``question`` in this version of the course, counted as a hit
        or a miss; None on a miss (and a first miss under a new version forgets the old)."""
        course, version, key = index.course_id, index.directory.name, question_key(question)
        table, stats = answer_cache, answer_cache_stats
        with self.db.begin() as db:
            found = db.execute(select(table.c.answer).where(
                table.c.course == course, table.c.version == version,
                table.c.generation == generation, table.c.key == key)).scalar()
            if found is None:
                db.execute(delete(table).where(table.c.course == course,
                                               table.c.version != version))
            column = stats.c.misses if found is None else stats.c.hits
            db.execute(self.db.insert(stats).values({"course": course, column.name: 1})
                       .on_conflict_do_update(index_elements=["course"],
                                              set_={column.name: column + 1}))
        return None if found is None else _answer(json.loads(found), index, question)

    def put(self, index: CourseIndex, generation: str, answer: Answer) -> None:
        """Keep ``answer`` for the question it answered (its standalone form)."""
        record = {
            "standalone": answer.standalone_question, "text": answer.text,
            "refused": answer.refused, "confidence": answer.confidence,
            "sources_given": answer.sources_given,
            "citations": [{"n": c.n, "chunk": c.hit.chunk.id, "score": c.hit.score,
                           "rank": c.hit.rank, "dense": c.hit.dense_score,
                           "bm25": c.hit.bm25_score} for c in answer.citations],
            "suggestions": [s.__dict__ for s in answer.suggestions],
        }
        row = {"course": index.course_id, "version": index.directory.name,
               "generation": generation, "key": question_key(answer.standalone_question),
               "answer": json.dumps(record),
               "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
        with self.db.begin() as db:
            db.execute(self.db.upsert(answer_cache, row,
                                      keys=["course", "version", "generation", "key"]))

    def stats(self, course: str) -> CacheStats:
        stats = answer_cache_stats
        with self.db.connect() as db:
            row = db.execute(select(stats.c.hits, stats.c.misses)
                             .where(stats.c.course == course)).first()
        return CacheStats(course=course, hits=row[0] if row else 0,
                          misses=row[1] if row else 0)

    def entries(self, course: str) -> int:
        with self.db.connect() as db:
            return int(db.execute(select(func.count()).select_from(answer_cache)
                                  .where(answer_cache.c.course == course)).scalar_one())


def _answer(record: dict, index: CourseIndex, question: str) -> Answer | None:
    """A stored record as an Answer over the index's own chunks (None if one is missing:
    the version is the same, so only a damaged row can lack one)."""
    rows = index.row_of
    if any(c["chunk"] not in rows for c in record["citations"]):
        return None
    citations = tuple(
        Citation(c["n"], Hit(index.chunks[rows[c["chunk"]]], c["score"], c["rank"],
                             dense_score=c["dense"], bm25_score=c["bm25"]))
        for c in record["citations"])
    return Answer(
        question=question, standalone_question=record["standalone"], course=index.course_id,
        text=record["text"], refused=record["refused"], citations=citations,
        suggestions=tuple(Suggestion(**s) for s in record["suggestions"]),
        confidence=record["confidence"], sources_given=record["sources_given"], cached=True)
