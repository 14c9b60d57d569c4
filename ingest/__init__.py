"""Ingestion: course files in, a published per-course index out.

Start at :class:`ingest.pipeline.Ingestor`. A file goes through a loader
(``ingest/loaders``, one per format) to :class:`~ingest.documents.Section` s, the
:class:`~ingest.chunking.Chunker` cuts those into :class:`~ingest.documents.Chunk` s, the
:mod:`~ingest.embedder` turns chunks into vectors, and :mod:`~ingest.store` writes a new
index version (SQLite chunk store, FAISS, BM25, manifest) that :mod:`~ingest.catalog`
publishes atomically. Files uploaded over HTTP are checked by :mod:`~ingest.uploads` and
ingested in the background by :mod:`~ingest.jobs`.
"""
