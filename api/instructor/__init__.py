"""The instructor's side of the service: add course files over HTTP and follow their
ingestion; only an LTI instructor of the course, or the admin, may.

- ``POST /v1/courses/{course}/files`` takes one or more files (multipart), keeps them under
  ``<data_dir>/sources/<course>/`` and queues an ingest job; ``GET /v1/ingest-jobs/{id}``
  reports its progress and, file by file, what was added, replaced or skipped and why.
- The page at ``/instructor`` (``api/static/instructor.*``, served by
  :mod:`api.routes.pages`) uploads files and runs evals through these endpoints.

Where to start: :mod:`api.instructor.routes` (the endpoints), then
:mod:`api.instructor.ingest_jobs` (the jobs, in SQLite, run one at a time),
:mod:`api.instructor.uploads` (file names, types and sizes) and
:mod:`api.instructor.auth` (who may: :func:`~api.instructor.auth.require_instructor`).

Wiring, in ``create_app``::

    app.state.ingest_jobs = IngestJobs(settings.database, settings.sources_dir, ingestor=...)
    app.include_router(instructor_router)
"""

from api.instructor.auth import Caller, CallerDep, InstructorDep, require_instructor
from api.instructor.ingest_jobs import IngestJobs
from api.instructor.routes import router as instructor_router
from api.instructor.uploads import UploadBodyLimit

__all__ = [
    "Caller", "CallerDep", "IngestJobs", "InstructorDep", "UploadBodyLimit",
    "instructor_router", "require_instructor",
]
