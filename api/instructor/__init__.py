"""The instructor's side of the service: add course files over HTTP and follow their
ingestion; only an LTI instructor of the course, or the admin, may.

- ``POST /v1/courses/{course}/files`` takes one or more files (multipart), keeps them under
  ``<data_dir>/sources/<course>/`` and queues an ingest job (:mod:`ingest.jobs`, with the
  names, types and sizes checked by :mod:`ingest.uploads`); ``GET /v1/ingest-jobs/{id}``
  reports its progress and, file by file, what was added, replaced or skipped and why.
- The page at ``/instructor`` (``api/static/instructor.*``, served by
  :mod:`api.routes.pages`) uploads files and runs evals through these endpoints.

Where to start: :mod:`api.instructor.routes` (the endpoints); who may is decided by
:mod:`api.access` (an LTI instructor of the course, an instructor key of it, or the admin).
"""

from api.instructor.routes import router as instructor_router

__all__ = ["instructor_router"]
