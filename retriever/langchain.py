"""A LangChain ``BaseRetriever`` over studyhall's search, for LangChain users.

    retriever = StudyhallRetriever(service=SearchService(Settings()), course="genai-basics")
    docs = retriever.invoke("why is GAN training unstable?")

Each ``Document`` carries the passage as ``page_content`` and the citation (source,
anchor, heading path, scores) in ``metadata``.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from retriever.base import Hit


class StudyhallRetriever(BaseRetriever):
    service: Any  # retriever.service.SearchService (kept untyped for pydantic)
    course: str
    k: int = 5
    mode: str | None = None
    mmr: bool = False
    documents: tuple[str, ...] = ()
    lessons: tuple[str, ...] = ()

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        hits = self.service.search(
            query, self.course, k=self.k, mode=self.mode, mmr=self.mmr,
            documents=self.documents, lessons=self.lessons,
        )
        return [Document(page_content=hit.chunk.text, metadata=citation(hit), id=hit.chunk.id)
                for hit in hits]


def citation(hit: Hit) -> dict[str, Any]:
    """Where a hit sits, for a LangChain user to cite: its file, lesson, heading path,
    anchor and ``location`` (``source#fragment``), with its rank and score."""
    chunk = hit.chunk
    return {
        "chunk_id": chunk.id, "course": chunk.course, "source": chunk.source,
        "lesson": chunk.lesson, "title": chunk.title, "heading_path": list(chunk.heading_path),
        "anchor": {"kind": chunk.anchor.kind, "ref": chunk.anchor.ref,
                   "label": chunk.anchor.label},
        "location": chunk.location, "rank": hit.rank, "score": hit.score,
    }


def search_tool(service: Any, course: str, default_k: int = 5):
    """A LangChain ``StructuredTool`` named ``search_course``: the course's passages for a
    query, each with the location to cite (for agents that retrieve for themselves)."""
    from langchain_core.tools import StructuredTool
    from pydantic import BaseModel, Field

    class SearchArgs(BaseModel):
        query: str = Field(description="What to look for, in plain words.")
        k: int = Field(default_k, ge=1, le=20, description="How many passages to return.")

    def search_course(query: str, k: int = default_k) -> tuple[str, list[dict]]:
        hits = [{**citation(hit), "text": hit.chunk.text}
                for hit in service.search(query, course, k=k)]
        text = "\n\n".join(f"[{n}] {h['title']} ({h['location']})\n{h['text']}"
                           for n, h in enumerate(hits, start=1))
        return text or "No passages found.", hits

    return StructuredTool.from_function(
        search_course, name="search_course", args_schema=SearchArgs,
        description=f"Search the course {course!r} for passages; returns each passage with "
                    "its location (lesson, section, page, slide or cell) to cite.",
        response_format="content_and_artifact",
    )
