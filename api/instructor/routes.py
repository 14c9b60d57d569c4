"""The instructor endpoints: upload course files and follow their ingest job; set who may
read the course; make, list and revoke its API keys; see how often the answer cache
answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from api.access import AccessDep, CallerDep, InstructorDep
from api.deps import AnswerServiceDep, IngestJobsDep, SearchServiceDep
from api.schemas import (
    AnswerCacheOut,
    ApiKeyList,
    ApiKeyOut,
    IngestJobOut,
    NewApiKeyOut,
    Text,
    VisibilityOut,
    errors,
)
from ingest.catalog import validate_course_id
from ingest.uploads import UploadRejected
from studyhall.core.errors import Forbidden
from studyhall.core.settings import Visibility

router = APIRouter(prefix="/v1", tags=["instructor"])


class VisibilityBody(BaseModel):
    visibility: Visibility = Field(description="public: anyone; lms: an LTI session of the "
                                   "course or a key of it; private: its instructors only.")


class NewKeyBody(BaseModel):
    name: Text = Field("", max_length=100, description="What the key is for, to recognise it.")
    scope: Annotated[str, Field(pattern="^(read|instruct)$")] = Field(
        "read", description="read: search and ask; instruct: also upload, evals and keys.")


# The body is read by the route, after the caller is checked (a form parameter would make
# FastAPI parse and spool the whole body first), and a body over the limit is a 413 whether
# it declared its length or came chunked (api/limits.py cuts it off as it arrives).
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["files"],
    "properties": {"files": {"type": "array", "description": "One or more course files.",
                             "items": {"type": "string", "format": "binary"}}}}}}}}
MAX_FILES = 100


@router.post("/courses/{course}/files", status_code=202, response_model=IngestJobOut,
             openapi_extra=UPLOAD_BODY, responses=errors(401, 403, 413, 415, 422, 503, 507))
async def upload_files(course: str, request: Request, jobs: IngestJobsDep,
                       _: InstructorDep) -> IngestJobOut:
    """Add files to a course (a new course id creates the course): they are kept, then
    ingested in the background; poll ``GET /v1/ingest-jobs/{id}``. A file named like one
    already in the course replaces it. Unsupported type → 415, too large → 413."""
    validate_course_id(course)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UploadRejected("an upload is a multipart/form-data body with one or more "
                             "'files' parts")
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES)
    except MultiPartException as exc:
        raise UploadRejected(f"the upload is not a readable multipart body: {exc.message}") \
            from None
    except StarletteHTTPException as exc:  # Starlette's own word for a malformed body
        raise UploadRejected(f"the upload is not a readable multipart body: {exc.detail}") \
            from None
    try:
        files = [part for part in form.getlist("files") if isinstance(part, UploadFile)]
        return IngestJobOut(**await run_in_threadpool(
            jobs.submit, course, [(part.filename or "", part.file) for part in files]))
    finally:
        await form.close()


@router.get("/ingest-jobs/{job_id}", response_model=IngestJobOut,
            responses=errors(401, 403, 404))
def get_ingest_job(job_id: str, jobs: IngestJobsDep, caller: CallerDep) -> IngestJobOut:
    """Status (queued, running, done, failed, interrupted), progress (``done`` of ``total``
    files, ``current``), and the report so far: files added, changed, unchanged, skipped
    (with the reason) and kept at their previous version."""
    job = jobs.get(job_id)  # an unknown id is a 404 (api/errors.py)
    caller.require_instructor(job["course"])
    return IngestJobOut(**job)


@router.get("/courses/{course}/visibility", response_model=VisibilityOut,
            responses=errors(401, 403, 404, 422))
def get_visibility(course: str, access: AccessDep, search: SearchServiceDep,
                   _: InstructorDep) -> VisibilityOut:
    """Who may read the course."""
    search.index(course)  # a bad id is a 422, an unknown course a 404
    return VisibilityOut(course=course, visibility=access.visibility(course))


@router.put("/courses/{course}/visibility", response_model=VisibilityOut,
            responses=errors(400, 401, 403, 404, 413, 422))
def set_visibility(course: str, body: VisibilityBody, access: AccessDep, search: SearchServiceDep,
                   _: InstructorDep) -> VisibilityOut:
    """Set who may read the course (uploaded material is never more visible than it)."""
    search.index(course)  # an unknown course is a 404
    return VisibilityOut(course=course, visibility=access.set_visibility(course, body.visibility))


@router.get("/courses/{course}/keys", response_model=ApiKeyList,
            responses=errors(401, 403, 422))
def list_keys(course: str, access: AccessDep, _: InstructorDep) -> ApiKeyList:
    """The API keys that reach the course, newest first (their secrets are never shown)."""
    validate_course_id(course)
    return ApiKeyList(keys=[ApiKeyOut.from_key(k) for k in access.keys(course)])


@router.post("/courses/{course}/keys", status_code=201, response_model=NewApiKeyOut,
             responses=errors(400, 401, 403, 404, 413, 422))
def create_key(course: str, body: NewKeyBody, access: AccessDep, search: SearchServiceDep,
               caller: InstructorDep) -> NewApiKeyOut:
    """A new API key for this course; the response holds the key, shown this once."""
    search.index(course)
    made = access.create_key(name=body.name, courses=[course], scope=body.scope,
                             created_by=caller.who)
    return NewApiKeyOut(key=ApiKeyOut.from_key(made.key), token=made.token)


@router.delete("/courses/{course}/keys/{key_id}", response_model=ApiKeyOut,
               responses=errors(401, 403, 404, 422))
def revoke_key(course: str, key_id: str, access: AccessDep, caller: InstructorDep) -> ApiKeyOut:
    """Revoke a key of this course. A key that also reaches other courses can be revoked by
    an instructor of each of them (or the admin)."""
    validate_course_id(course)
    key = access.key(key_id)
    if course not in key.courses:
        raise Forbidden(f"API key {key_id} is not a key of course {course!r}")
    for other in key.courses:
        caller.require_instructor(other)
    return ApiKeyOut.from_key(access.revoke(key_id))


@router.get("/courses/{course}/answer-cache", response_model=AnswerCacheOut,
            responses=errors(401, 403, 404, 422))
def answer_cache(course: str, search: SearchServiceDep, answers: AnswerServiceDep,
                 _: InstructorDep) -> AnswerCacheOut:
    """How many of the course's questions the answer cache answered (since the service
    first ran), and how many answers of the current version it holds."""
    search.index(course)
    cache = answers.cache
    if cache is None:
        return AnswerCacheOut(course=course, enabled=False)
    stats = cache.stats(course)
    return AnswerCacheOut(course=course, enabled=True, hits=stats.hits, misses=stats.misses,
                          hit_rate=round(stats.hit_rate, 4), entries=cache.entries(course))
