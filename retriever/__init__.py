"""Retrieval: a question in, ranked passages out.

:class:`~retriever.service.SearchService` is the entry point the CLI and the API use:
it validates the request, opens the course's published index (reloading when a new
version is published) and runs one of the retrievers, all behind
:class:`~retriever.base.Retriever`: :mod:`~retriever.dense` (FAISS),
:mod:`~retriever.bm25` (bm25s) and :mod:`~retriever.hybrid` (reciprocal rank fusion of
the two, the default), optionally re-ranked for diversity by :mod:`~retriever.mmr`.
:mod:`~retriever.langchain` adapts it to LangChain's ``BaseRetriever``.
"""
