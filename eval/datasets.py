"""The question-set format (JSON Lines, one question per line)::

    {"id": "c-007", "course": "genai-basics",
     "question": "Why is GAN training unstable?",
     "answerable": true,
     "gold": [{"source": "lessons/16-generative-adversarial-networks.md",
               "section": "Why GAN training is unstable"}],
     "key_facts": ["mode collapse"],
     "tags": ["why"]}

Optional fields: ``turns`` (the conversation before the question, oldest first, each
``{"role": "user" | "assistant", "text": ...}``: the question is then a follow-up),
``draft`` (true for questions ``studyhall eval generate`` wrote and nobody reviewed yet)
and ``tags``: factual, definition, why, comparison, paraphrase, two-passage, follow-up,
out-of-course (with policy, off-topic or near-domain), injection.

A gold anchor names a source file and, optionally, a section heading anywhere on the
chunk's heading path (or a ``chunk_id``). A retrieved chunk is relevant when it matches
any gold anchor of its question.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ingest.documents import Chunk
from studyhall.core.errors import UsageError

DATASETS_DIR = Path(__file__).parent / "datasets"


class DatasetError(UsageError):
    """A question set that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class GoldAnchor:
    source: str | None = None
    section: str | None = None
    chunk_id: str | None = None

    def matches(self, chunk: Chunk) -> bool:
        if self.chunk_id is not None:
            return chunk.id == self.chunk_id
        if self.source != chunk.source:
            return False
        return self.section is None or self.section in chunk.heading_path


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    course: str
    answerable: bool = True
    gold: tuple[GoldAnchor, ...] = ()
    key_facts: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    turns: tuple[tuple[str, str], ...] = ()  # (role, text) before the question, oldest first
    draft: bool = False

    def is_relevant(self, chunk: Chunk) -> bool:
        return any(anchor.matches(chunk) for anchor in self.gold)

    def matching_anchor(self, chunk: Chunk) -> int | None:
        """Which gold anchor the chunk falls in (its index), or None."""
        return next((i for i, anchor in enumerate(self.gold) if anchor.matches(chunk)), None)


def course_dataset(data_dir: Path, course: str) -> Path:
    """The course's question set: a reviewed set in the data directory
    (``evals/<course>/questions.jsonl``), else the bundled one."""
    own = data_dir / "evals" / course / "questions.jsonl"
    return own if own.is_file() else default_dataset(course)


def default_dataset(course: str) -> Path:
    path = DATASETS_DIR / f"{course}.jsonl"
    if not path.is_file():
        raise DatasetError(
            f"course {course!r} has no question set: draft one with `studyhall eval generate "
            f"--course {course}` and review it, or pass --dataset FILE")
    return path


def load_questions(path: Path, *, course: str | None = None) -> list[Question]:
    """Read and check a question set; with ``course``, keep only that course's questions."""
    questions: list[Question] = []
    seen: set[str] = set()
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read the question set {path}: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            raw = json.loads(line)
            gold = tuple(
                GoldAnchor(g.get("source"), g.get("section"), g.get("chunk_id"))
                for g in raw.get("gold", [])
            )
            question = Question(
                id=str(raw["id"]),
                question=str(raw["question"]),
                course=str(raw["course"]),
                answerable=bool(raw.get("answerable", True)),
                gold=gold,
                key_facts=tuple(raw.get("key_facts", [])),
                tags=tuple(raw.get("tags", [])),
                turns=tuple((str(t["role"]), str(t["text"])) for t in raw.get("turns", [])),
                draft=bool(raw.get("draft", False)),
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise DatasetError(f"{where}: not a valid question: {exc}") from None
        if question.id in seen:
            raise DatasetError(f"{where}: duplicate question id {question.id!r}")
        if any(role not in ("user", "assistant") for role, _ in question.turns):
            raise DatasetError(f"{where}: a turn's role must be 'user' or 'assistant'")
        if question.answerable and not question.gold:
            raise DatasetError(f"{where}: answerable question {question.id!r} has no gold")
        seen.add(question.id)
        if course is None or question.course == course:
            questions.append(question)
    if not questions:
        raise DatasetError(f"{path}: no questions" + (f" for course {course!r}" if course else ""))
    return questions
