"""The ingested courses."""

from __future__ import annotations

from fastapi import APIRouter

from api.access import AccessDep, CallerDep, readable_courses
from api.deps import SearchServiceDep
from api.schemas import CourseOut, CoursesResponse, errors

router = APIRouter(prefix="/v1", tags=["courses"])


@router.get("/courses", response_model=CoursesResponse, responses=errors(401))
def list_courses(service: SearchServiceDep, caller: CallerDep,
                 access: AccessDep) -> CoursesResponse:
    """The ingested courses the caller may read, with their size, embedder and last
    update."""
    readable = set(readable_courses(caller, access, service.catalog.course_ids()))
    return CoursesResponse(courses=[CourseOut.from_manifest(m) for m in service.courses()
                                    if m.course_id in readable])
