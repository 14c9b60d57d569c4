"""Answers to questions already asked, served again in milliseconds (``answer_cache`` in
the SQLite file of the conversations).

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
import sqlite3
import unicodedata
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from generator.results import Answer, Citation, Suggestion
from ingest.store import CourseIndex
from retriever.base import Hit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answer_cache (
    course TEXT NOT NULL,
    version TEXT NOT NULL,
    generation TEXT NOT NULL,
    key TEXT NOT NULL,
    answer TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (course, version, generation, key)
);
CREATE TABLE IF NOT EXISTS answer_cache_stats (
    course TEXT PRIMARY KEY,
    hits INTEGER NOT NULL DEFAULT 0,
    misses INTEGER NOT NULL DEFAULT 0
);
"""

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
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def get(self, index: CourseIndex, generation: str, question: str) -> Answer | None:
        """The stored answer to ``question`` in this version of the course, counted as a hit
        or a miss; None on a miss (and a first miss under a new version forgets the old)."""
        course, version, key = index.course_id, index.directory.name, question_key(question)
        with closing(self._connect()) as db, db:
            row = db.execute(
                "SELECT answer FROM answer_cache WHERE course = ? AND version = ? AND "
                "generation = ? AND key = ?", (course, version, generation, key)).fetchone()
            if row is None:
                db.execute("DELETE FROM answer_cache WHERE course = ? AND version <> ?",
                           (course, version))
            column = "misses" if row is None else "hits"
            db.execute(f"INSERT INTO answer_cache_stats (course, {column}) VALUES (?, 1) "
                       f"ON CONFLICT(course) DO UPDATE SET {column} = {column} + 1", (course,))
        return None if row is None else _answer(json.loads(row[0]), index, question)

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
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO answer_cache (course, version, generation, key, answer, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (index.course_id, index.directory.name, generation,
                 question_key(answer.standalone_question), json.dumps(record),
                 datetime.now(UTC).isoformat(timespec="seconds")))

    def stats(self, course: str) -> CacheStats:
        with closing(self._connect()) as db:
            row = db.execute("SELECT hits, misses FROM answer_cache_stats WHERE course = ?",
                             (course,)).fetchone()
        return CacheStats(course=course, hits=row[0] if row else 0,
                          misses=row[1] if row else 0)

    def entries(self, course: str) -> int:
        with closing(self._connect()) as db:
            return db.execute("SELECT COUNT(*) FROM answer_cache WHERE course = ?",
                              (course,)).fetchone()[0]


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
