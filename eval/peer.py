"""The peer baseline: LangChain's tutorial recipe, built the way a new user builds it, run
through the same judge as studyhall.

The recipe, piece by piece, all LangChain's own:

- the course files as documents (the same text studyhall's loaders read, one document
  per file, so both systems see the same material);
- ``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)``;
- ``HuggingFaceEmbeddings`` with all-MiniLM-L6-v2 and a ``FAISS`` vector store (the
  class from ``langchain_community``: ``langchain-huggingface`` pins ``huggingface_hub``
  below 2, older than the one transformers here needs; the class is the same);
- ``as_retriever(search_kwargs={"k": 4})``;
- the stock question-answering chat prompt that ``langchain_classic`` ships (imported from
  the package, not restated here) filled with the four chunks;
- ``ChatLlamaCpp`` on the same GGUF file studyhall uses.

Where a new user would trip over a default, it is set the way studyhall sets its own, so
that the comparison is of the recipe and not of a misconfiguration: a 4096-token context
(the default 512 overflows with four 1000-character chunks), greedy decoding, the same
answer length, threads and prompt batch.

The recipe has no refusal flag and no citations. An answer counts as declined when its
first sentence says the context does not hold the answer (``declines``); it cites
nothing, so the judge's "correct with a correct citation" is always false for it, and the
comparison uses "answered correctly" (key facts stated, not declined) for both systems.
It has no conversation memory either: a follow-up is asked on its own, as the recipe would.

Needs the ``peer`` extra (``pip install -e '.[peer]'``).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from generator.results import Timings
from ingest.loaders import LoadError, loader_for, supported_suffixes

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
K = 4

_DECLINE = re.compile(
    r"\bI (?:do not|don't) know\b"
    r"|\b(?:context|text|information|passages?|documents?|sources?|course|material)\b[^.]{0,40}"
    r"\b(?:does not|doesn't|do not|don't) (?:contain|mention|provide|include|specify|say"
    r"|cover|state|give|address|discuss|explain)"
    r"|\bnot (?:mentioned|provided|specified|covered|stated|included|given|addressed"
    r"|discussed|explained)\b"
    r"|\bno (?:information|mention)\b"
    r"|\b(?:cannot|can't|unable to) (?:answer|find|provide|determine|recommend|help)"
    r"|^(?:i'm|i am) sorry\b",
    re.IGNORECASE,
)


def declines(text: str) -> bool:
    """Whether a free-text answer declines: its first sentence says it cannot answer."""
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0] if text.strip() else ""
    return not text.strip() or bool(_DECLINE.search(first))


@dataclass
class PeerAnswer:
    """The shape ``eval.answers.judge`` reads: text, refused, citations, timings."""

    text: str
    refused: bool
    citations: tuple = ()
    timings: Timings = field(default_factory=Timings)
    sources: list[str] = field(default_factory=list)  # the four chunks' files, for reading


def course_documents(source: Path) -> list:
    """One LangChain ``Document`` per course file, with its text as studyhall reads it."""
    from langchain_core.documents import Document

    documents = []
    suffixes = set(supported_suffixes())
    for path in sorted(p for p in source.rglob("*") if p.suffix.lower() in suffixes):
        try:
            loaded = loader_for(path).load(path)
        except LoadError:
            continue
        text = "\n\n".join(section.text for section in loaded.sections)
        documents.append(Document(page_content=text,
                                  metadata={"source": str(path.relative_to(source))}))
    return documents


class TutorialRecipe:
    """Build once (split, embed, index, load the model), then ``ask`` question by question."""

    def __init__(self, source: Path, *, model_path: Path, embedder_dir: Path,
                 threads: int | None = None, max_tokens: int = 320,
                 n_batch: int | None = 512) -> None:
        """``n_batch=None`` keeps ``ChatLlamaCpp``'s own default (8), as a new user gets it."""
        from langchain_classic.chains.question_answering.stuff_prompt import CHAT_PROMPT
        from langchain_community.chat_models import ChatLlamaCpp
        from langchain_community.embeddings import HuggingFaceEmbeddings
        from langchain_community.vectorstores import FAISS
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE,
                                                  chunk_overlap=CHUNK_OVERLAP)
        self.chunks = splitter.split_documents(course_documents(source))
        embeddings = HuggingFaceEmbeddings(model_name=str(embedder_dir))
        self.retriever = FAISS.from_documents(self.chunks, embeddings).as_retriever(
            search_kwargs={"k": K})
        self.prompt = CHAT_PROMPT
        batch = {} if n_batch is None else {"n_batch": n_batch}
        self.llm = ChatLlamaCpp(model_path=str(model_path), n_ctx=4096, n_threads=threads,
                                temperature=0.0, max_tokens=max_tokens, verbose=False, **batch)

    @classmethod
    def from_settings(cls, source: Path, settings, *, n_batch: int | None = 512
                      ) -> TutorialRecipe:
        """The recipe on studyhall's configured model file, embedder, threads and answer
        length (``settings``: a ``studyhall.core.settings.Settings``)."""
        from generator.models import resolve_model
        from ingest.embedder import resolve_model_dir

        return cls(source,
                   model_path=resolve_model(settings.generator.model, settings.model_store),
                   embedder_dir=resolve_model_dir(settings.embedder)[1],
                   threads=settings.generator.threads or os.cpu_count(),
                   max_tokens=settings.generator.max_tokens, n_batch=n_batch)

    def ask(self, question: str) -> PeerAnswer:
        started = time.perf_counter()
        docs = self.retriever.invoke(question)
        context = "\n\n".join(doc.page_content for doc in docs)
        messages = self.prompt.format_messages(context=context, question=question)
        pieces, first = [], None
        for chunk in self.llm.stream(messages):
            if first is None and chunk.content:
                first = (time.perf_counter() - started) * 1000
            pieces.append(chunk.content)
        text = "".join(pieces).strip()
        return PeerAnswer(
            text=text, refused=declines(text),
            timings=Timings(first_token_ms=first,
                            total_ms=(time.perf_counter() - started) * 1000),
            sources=[doc.metadata.get("source", "") for doc in docs],
        )
