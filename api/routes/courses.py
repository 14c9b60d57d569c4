from __future__ import annotations

from fastapi import APIRouter

from api.deps import SearchServiceDep

router = APIRouter(prefix="/v1", tags=["courses"])


@router.get("/courses")
def list_courses(service: SearchServiceDep) -> dict:
    """The ingested courses with their size, embedder and last update."""
    return {"courses": [manifest.summary() for manifest in service.courses()]}
