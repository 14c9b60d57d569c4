"""Warm a course's KV cache: compute, ahead of the first students, the KV of the sources its
question set retrieves, most shown first, within the generator's KV budget, and keep it
beside the published version (``<version>/kv/``), where a server with
``generator.kv_reuse`` on reads it instead of computing it.

Run by ``studyhall warm --course ID`` or as a ``warm`` job (``POST /v1/evals``), which a
``studyhall worker`` takes when there is a queue. The question set stands in for what
students will ask: its questions retrieve the sources they will be shown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eval.datasets import Question
from generator.answer import AnswerService
from generator.prompts import split_block
from studyhall.core.errors import UsageError


@dataclass(frozen=True, kw_only=True)
class Warmed:
    course: str
    questions: int  # whose prompts were looked at
    sources: int  # distinct sources in those prompts
    encoded: int  # sources encoded now
    reused: int  # sources already kept
    files: int  # KV files in the folder after it
    megabytes: float  # their size on disk
    budget_mb: int
    folder: Path

    def message(self) -> str:
        return (f"{self.course}: {self.sources} distinct sources in the prompts of "
                f"{self.questions} questions; {self.encoded} encoded now, {self.reused} already "
                f"kept; {self.files} in {self.folder} ({self.megabytes:.0f} MB, budget "
                f"{self.budget_mb} MB)")

    def summary(self) -> dict:
        return {"questions": self.questions, "sources": self.sources, "encoded": self.encoded,
                "reused": self.reused, "files": self.files,
                "megabytes": round(self.megabytes, 1), "budget_mb": self.budget_mb}


def warm_course(answers: AnswerService, course: str, questions: list[Question], *,
                progress: Callable[[int, int], None] | None = None) -> Warmed:
    """Warm ``course`` from the prompts of ``questions``. The generator must be able to
    (the llama_cpp backend with ``kv_reuse`` on); else UsageError, saying so."""
    generator = answers.generator
    if not hasattr(generator, "warm"):
        raise UsageError("warming needs the llama_cpp backend (generator.backend)")
    if not answers.settings.generator.kv_reuse:
        raise UsageError("warming is for generator.kv_reuse, which is off: nothing would "
                         "read what it computes")
    index = answers.search.index(course)
    prompts, shown = [], Counter()
    for question in questions:
        hits = answers.search.search(question.question, course, k=answers.settings.answer.sources)
        blocks = list(answers.fit(index, question.question, hits).blocks)
        prompts.append(answers.strategy.messages(index.manifest.title, question.question, blocks))
        shown.update(split_block(b)[1] for b in blocks)
    # the prompts whose sources are shown most, first: the most useful KV goes in first
    prompts.sort(key=lambda m: -sum(shown[text.removesuffix("\n\n")]
                                    for text, reusable in m[-1].parts if reusable))
    folder = index.directory / "kv"
    budget_mb = answers.settings.generator.kv_budget_mb
    encoded = reused = spent = 0
    for n, messages in enumerate(prompts, start=1):
        if spent >= budget_mb * 2**20:
            break
        stats = generator.warm(messages, folder)
        encoded, reused = encoded + stats.blocks_encoded, reused + stats.blocks_reused
        spent += stats.bytes_encoded
        if progress:
            progress(n, len(prompts))
    kept = list(folder.glob("*.kv"))
    return Warmed(course=course, questions=len(questions), sources=len(shown), encoded=encoded,
                  reused=reused, files=len(kept),
                  megabytes=sum(f.stat().st_size for f in kept) / 2**20, budget_mb=budget_mb,
                  folder=folder)
