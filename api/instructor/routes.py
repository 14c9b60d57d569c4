"""The instructor endpoints: upload course files, follow their ingest job."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile

from api.deps import IngestJobsDep
from api.instructor.auth import CallerDep, InstructorDep
from api.schemas import IngestJobOut
from ingest.catalog import validate_course_id

router = APIRouter(prefix="/v1", tags=["instructor"])


@router.post("/courses/{course}/files", status_code=202, response_model=IngestJobOut)
def upload_files(
    course: str,
    files: Annotated[list[UploadFile], File(description="One or more course files.")],
    jobs: IngestJobsDep,
    _: InstructorDep,
) -> IngestJobOut:
    """Add files to a course (a new course id creates the course): they are kept, then
    ingested in the background; poll ``GET /v1/ingest-jobs/{id}``. A file named like one
    already in the course replaces it. Unsupported type → 415, too large → 413."""
    validate_course_id(course)
    return IngestJobOut(**jobs.submit(course, [(upload.filename or "", upload.file)
                                               for upload in files]))


@router.get("/ingest-jobs/{job_id}", response_model=IngestJobOut)
def get_ingest_job(job_id: str, jobs: IngestJobsDep, caller: CallerDep) -> IngestJobOut:
    """Status (queued, running, done, failed, interrupted), progress (``done`` of ``total``
    files, ``current``), and the report so far: files added, changed, unchanged, skipped
    (with the reason) and kept at their previous version."""
    job = jobs.get(job_id)  # an unknown id is a 404 (api/errors.py)
    caller.require_instructor(job["course"])
    return IngestJobOut(**job)
