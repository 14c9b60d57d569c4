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

from retriever.base import hit_to_dict


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
        documents = []
        for hit in hits:
            metadata = hit_to_dict(hit)
            text = metadata.pop("text")
            documents.append(Document(page_content=text, metadata=metadata, id=hit.chunk.id))
        return documents


def search_tool(service: Any, course: str, default_k: int = 5):
    """A LangChain ``StructuredTool`` named ``search_course``: the course's passages for a
    query, each with the location to cite (for agents that retrieve for themselves)."""
    from langchain_core.tools import StructuredTool
    from pydantic import BaseModel, Field

    class SearchArgs(BaseModel):
        query: str = Field(description="What to look for, in plain words.")
        k: int = Field(default_k, ge=1, le=20, description="How many passages to return.")

    def search_course(query: str, k: int = default_k) -> tuple[str, list[dict]]:
        hits = [hit_to_dict(hit) for hit in service.search(query, course, k=k)]
        text = "\n\n".join(f"[{n}] {h['title']} ({h['location']})\n{h['text']}"
                           for n, h in enumerate(hits, start=1))
        return text or "No passages found.", hits

    return StructuredTool.from_function(
        search_course, name="search_course", args_schema=SearchArgs,
        description=f"Search the course {course!r} for passages; returns each passage with "
                    "its location (lesson, section, page, slide or cell) to cite.",
        response_format="content_and_artifact",
    )
