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
