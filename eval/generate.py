"""Draft a question set for a newly ingested course, with the local model.

Passages are picked evenly across the course's files (long enough to hold a fact); for
each, the model writes one question the passage answers and the key fact of the answer.
A draft is kept only if it parses, ends with a question mark and its key fact is in the
passage (by content words, as the answer eval matches facts). Each draft's gold anchor is
its chunk, and it is marked ``"draft": true`` for the instructor to review, fix or drop
before the set is used (``evals/<course>/questions.jsonl`` in the data directory).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterator
from contextlib import closing

from eval.answers import content_words, fact_stated
from generator.base import GenerationParams, Generator
from generator.prompts import draft_question_messages
from ingest.documents import Chunk

MIN_WORDS = 40  # shorter passages rarely hold a whole fact
_LINE = re.compile(r"^\s*(question|key fact)\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)


def pick_chunks(chunks: list[Chunk], count: int) -> list[Chunk]:
    """``count`` passages spread over the files: each file offers passages evenly spaced
    from its start to its end, and the files take turns. Deterministic."""
    by_source: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        if len(chunk.text.split()) >= MIN_WORDS:
            by_source.setdefault(chunk.source, []).append(chunk)
    if not by_source:
        return []
    quota = math.ceil(count / len(by_source))
    offers = [[found[i * len(found) // min(quota, len(found))]
               for i in range(min(quota, len(found)))] for found in by_source.values()]
    turns = itertools.chain.from_iterable(itertools.zip_longest(*offers))
    return [chunk for chunk in turns if chunk is not None][:count]


def parse_draft(reply: str) -> tuple[str, str] | None:
    fields = {name.lower(): value for name, value in _LINE.findall(reply)}
    question, fact = fields.get("question"), fields.get("key fact")
    if not question or not fact or not question.endswith("?"):
        return None
    return question, fact


def draft_questions(generator: Generator, course: str, course_title: str, chunks: list[Chunk],
                    *, count: int = 20,
                    progress: Callable[[int, int], None] | None = None) -> Iterator[dict]:
    """Yield up to ``count`` draft questions in the question-set format."""
    params = GenerationParams(max_tokens=96)
    picked = pick_chunks(chunks, count)
    for n, chunk in enumerate(picked, start=1):
        messages = draft_question_messages(course_title, chunk.text)
        with closing(generator.stream(messages, params)) as tokens:
            parsed = parse_draft("".join(tokens))
        if progress:
            progress(n, len(picked))
        if parsed is None or not fact_stated(parsed[1], content_words(chunk.text)):
            continue
        question, fact = parsed
        yield {"id": f"g-{n:03d}", "course": course, "question": question, "answerable": True,
               "gold": [{"chunk_id": chunk.id}], "key_facts": [fact], "tags": ["draft"],
               "draft": True, "source": chunk.location}
