"""The ingested courses."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SearchServiceDep
from api.schemas import CourseOut, CoursesResponse

router = APIRouter(prefix="/v1", tags=["courses"])


@router.get("/courses", response_model=CoursesResponse)
def list_courses(service: SearchServiceDep) -> CoursesResponse:
    """The ingested courses with their size, embedder and last update."""
    return CoursesResponse(courses=[CourseOut.from_manifest(m) for m in service.courses()])
